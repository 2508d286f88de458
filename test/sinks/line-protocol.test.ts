import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { QueueRecord } from '../../src/queue/types.js';
import { escapeKey, recordsToLines, toLine, toLines, type Precision } from '../../src/sinks/line-protocol.js';
import { recordToPoints, type Point } from '../../src/sinks/points.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { fixtureDir, telegramFiles } from '../support/fixtures.js';

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

describe('recordsToLines (the sinks\' path, which builds no electricity points)', () => {
  const RECEIVED = '2025-01-14T08:00:00.000Z';
  const names = telegramFiles();
  const fixtures: QueueRecord[] = names.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr', raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
  const fixture = (name: string): QueueRecord => fixtures[names.indexOf(name)]!;
  const viaPoints = (records: readonly QueueRecord[], precision: Precision): string[] =>
    toLines(records.flatMap((record) => recordToPoints(record)), precision);

  it.each(['s', 'ms', 'ns'] as const)('gives exactly the lines of toLines over the points, fixture corpus, precision %s', (precision) => {
    for (const record of fixtures) expect(recordsToLines([record], {}, precision)).toEqual(viaPoints([record], precision));
    // All at once, in both orders: what one telegram leaves behind must not leak into the next one's line.
    expect(recordsToLines(fixtures, {}, precision)).toEqual(viaPoints(fixtures, precision));
    const reversed = [...fixtures].reverse();
    expect(recordsToLines(reversed, {}, precision)).toEqual(viaPoints(reversed, precision));
  });

  it('gives the lines of toLines for an hour of a DSMR 5 and a DSMR 2.2 meter, gas repeated until its next reading', () => {
    for (const dsmr of ['5', '2.2'] as const) {
      const start = Date.UTC(2024, 0, 1, 11, 57);
      const meter = new VirtualMeter({ dsmr, startMs: start });
      const records: QueueRecord[] = [];
      for (let i = 0; i < 3600; i++) {
        const t = start + i * 1000;
        records.push({ seq: i + 1, receivedAt: new Date(t).toISOString(), protocol: 'dsmr', raw: meter.telegramAt(t) });
      }
      const lines = recordsToLines(records);
      expect(lines).toEqual(viaPoints(records, 's'));
      // Every telegram its electricity line, the gas reading once per distinct reading.
      expect(lines.filter((line) => line.startsWith('electricity,'))).toHaveLength(3600);
      expect(lines.filter((line) => line.startsWith('gas,')).length).toBeLessThan(20);
    }
  });

  it('drops a telegram stored twice, also when a clockless meter\'s copies were received in the same second', () => {
    const easy = fixture('ESY5Q3DA1004_V304.txt');
    const v5 = fixture('V5.txt');
    const records = [
      { ...easy, receivedAt: '2025-01-14T08:00:00.100Z' },
      { ...v5, seq: 2 },
      { ...easy, seq: 3, receivedAt: '2025-01-14T08:00:00.900Z' },
      { ...v5, seq: 4 },
      { ...easy, seq: 5, receivedAt: '2025-01-14T08:00:01.000Z' },
    ];
    const lines = recordsToLines(records);
    expect(lines).toEqual(viaPoints(records, 's'));
    expect(lines.filter((line) => line.includes('meter=1ESY1336001560'))).toHaveLength(2);
    expect(recordsToLines(records, {}, 'ms')).toEqual(viaPoints(records, 'ms'));
    expect(recordsToLines(records, {}, 'ms').filter((line) => line.includes('meter=1ESY1336001560'))).toHaveLength(3);
  });
});
