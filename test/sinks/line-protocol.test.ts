import { describe, expect, it } from 'vitest';
import { escapeKey, toLine, toLines } from '../../src/sinks/line-protocol.js';
import type { Point } from '../../src/sinks/points.js';

const T = Date.parse('2017-01-02T19:20:02+01:00');

describe('line protocol', () => {
  it('writes tags sorted, floats as they are, integer fields with i, seconds by default', () => {
    const point: Point = { measurement: 'electricity', tags: { meter: 'K8EG' }, fields: { import_t1: 4.426, tariff: 2, power_import: 0 }, time: T };
    expect(toLine(point)).toBe('electricity,meter=K8EG import_t1=4.426,tariff=2i,power_import=0 1483381202');
    expect(toLine(point, 'ms')).toBe('electricity,meter=K8EG import_t1=4.426,tariff=2i,power_import=0 1483381202000');
    expect(toLine(point, 'ns')).toBe('electricity,meter=K8EG import_t1=4.426,tariff=2i,power_import=0 1483381202000000000');
    expect(toLine({ measurement: 'gas', tags: { meter: 'G1', channel: '2' }, fields: { value: 1.5 }, time: T })).toBe('gas,channel=2,meter=G1 value=1.5 1483381202');
  });

  it('escapes commas, equals signs, spaces and backslashes in tag values; line breaks become spaces', () => {
    expect(escapeKey('a b,c=d\\e')).toBe('a\\ b\\,c\\=d\\\\e');
    expect(escapeKey('x\ny')).toBe('x\\ y');
    const line = toLine({ measurement: 'electricity', tags: { meter: 'ACME 1,2=3' }, fields: { import_t1: 1 }, time: T });
    expect(line).toBe('electricity,meter=ACME\\ 1\\,2\\=3 import_t1=1 1483381202');
  });

  it('leaves out empty tags, non-finite fields, and points with no field', () => {
    expect(toLine({ measurement: 'electricity', tags: { meter: '' }, fields: { a: Number.NaN, b: 2 }, time: T })).toBe('electricity b=2 1483381202');
    expect(toLine({ measurement: 'electricity', tags: {}, fields: { a: Number.POSITIVE_INFINITY }, time: T })).toBe('');
    expect(toLine({ measurement: 'electricity', tags: {}, fields: { tariff: 1.5 }, time: T })).toBe('');
  });

  it('toLines drops exact duplicates (the gas reading repeats until the next one) and empty points', () => {
    const gas: Point = { measurement: 'gas', tags: { channel: '1' }, fields: { value: 3 }, time: T };
    const lines = toLines([gas, { ...gas }, { ...gas, time: T + 300_000 }, { measurement: 'mbus', tags: {}, fields: {}, time: T }]);
    expect(lines).toEqual(['gas,channel=1 value=3 1483381202', 'gas,channel=1 value=3 1483381502']);
  });
});
