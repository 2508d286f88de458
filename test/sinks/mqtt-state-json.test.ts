import { describe, expect, it } from 'vitest';
import { ElectricityStateJson, stateJson } from '../../src/sinks/mqtt/state-json.js';
import { mapRecord, newMappedTelegram, pointsOf, recordToPoints, type Point } from '../../src/sinks/points.js';
import { fixtureBytes, telegramFiles } from '../support/fixtures.js';

/** What the state message's payload is defined as: the point's time, tags and fields, as JSON.stringify writes them. */
function reference(point: Point): string {
  return JSON.stringify({ time: new Date(point.time).toISOString(), ...point.tags, ...point.fields });
}

const T = Date.UTC(2024, 8, 1, 12, 30, 15, 250);
const point = (tags: Record<string, string>, fields: Record<string, number>): Point => ({ measurement: 'electricity', tags, fields, time: T });

/** Keys and values JSON.stringify treats in its own way: each must come out the same. */
const EDGES: Array<[string, Point]> = [
  ['quotes, backslashes and control characters in a tag', point({ meter: 'E"00\\43\n\u0001' }, { power: 1 })],
  ['non-ASCII and a lone surrogate in a key', point({ 'zähler': 'ü€', 'k\ud800': 'x' }, { 'wärme': 2 })],
  ['NaN, Infinity and -0', point({ meter: 'm' }, { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -0, d: 1e21, e: 5e-7 })],
  ['a tag named time (it replaces the time, where the time stands)', point({ time: 'tag-time', meter: 'm' }, { power: 1 })],
  ['a field named time', point({ meter: 'm' }, { power: 1, time: 42 })],
  ['a field named like a tag', point({ meter: 'm', channel: '1' }, { channel: 3, power: 1 })],
  ['array-index keys (JSON.stringify writes them first)', point({ meter: 'm' }, { power: 1, '10': 2, '2': 3, '01': 4 })],
  ['no tags, no fields', point({}, {})],
];

describe('state message payloads: JSON.stringify of time, tags and fields, byte for byte', () => {
  for (const name of telegramFiles()) {
    it(`fixture ${name}`, () => {
      const raw = fixtureBytes(name).toString('latin1');
      const points = recordToPoints({ seq: 1, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'dsmr', raw });
      for (const p of points) expect(stateJson(p)).toBe(reference(p));
    });
  }
  for (const [name, p] of EDGES) {
    it(name, () => {
      expect(stateJson(p)).toBe(reference(p));
      expect(JSON.parse(stateJson(p))).toEqual(JSON.parse(reference(p)));
    });
  }
});

describe('the electricity payload written from a mapped telegram: stateJson of its point, byte for byte', () => {
  it('every fixture, one after another and twice over, so that fields repeat, change and disappear', () => {
    const writer = new ElectricityStateJson();
    const mapped = newMappedTelegram();
    const names = telegramFiles();
    let written = 0;
    // Forwards then backwards: each telegram follows another meter's, and then itself (every field repeated).
    for (const name of [...names, ...names.slice().reverse(), ...names.flatMap((n) => [n, n])]) {
      const raw = fixtureBytes(name).toString('latin1');
      mapRecord({ seq: 1, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'dsmr', raw }, {}, mapped);
      if (mapped.time === undefined) continue;
      const electricity = pointsOf(mapped)[0]!;
      expect(electricity.measurement).toBe('electricity');
      expect(writer.write(mapped), name).toBe(reference(electricity));
      written++;
    }
    expect(written).toBeGreaterThan(names.length * 3);
  });
});
