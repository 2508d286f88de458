import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ELECTRICITY_FIELDS, INTEGER_FIELDS, recordToPoints, telegramToPoints, type Point } from '../../src/sinks/points.js';
import { normaliseReference } from '../../src/telegram/obis.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureDir, telegramFiles } from '../support/fixtures.js';

const RECEIVED = '2025-01-14T08:00:00.000Z';

function fixture(name: string): string {
  return readFileSync(`${fixtureDir}${name}`, 'latin1');
}

function pointsOf(name: string): Point[] {
  return telegramToPoints(parseTelegram(fixture(name)), RECEIVED);
}

function electricity(points: Point[]): Point {
  const found = points.filter((p) => p.measurement === 'electricity');
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('telegramToPoints over the fixture corpus', () => {
  it.each(telegramFiles().map((f) => [f.split('/').pop()!]))('%s: every mapped register becomes its field, in kWh/kW', (name) => {
    const telegram = parseTelegram(fixture(name));
    const points = telegramToPoints(telegram, RECEIVED);
    const expected: Record<string, number> = {};
    for (const [reference, object] of Object.entries(telegram.objects)) {
      const mapping = ELECTRICITY_FIELDS.get(normaliseReference(reference));
      if (mapping === undefined || typeof object.value !== 'number') continue;
      const divisor = (mapping.scale === 'energy' && object.unit === 'Wh') || (mapping.scale === 'power' && object.unit === 'W') ? 1000 : 1;
      expected[mapping.field] = object.value / divisor;
    }
    const found = points.filter((p) => p.measurement === 'electricity');
    if (Object.keys(expected).length === 0) {
      expect(found).toEqual([]);
    } else {
      expect(found).toHaveLength(1);
      expect(found[0]!.fields).toEqual(expected);
      expect(found[0]!.time).toBe(Date.parse(telegram.time ?? RECEIVED));
      for (const field of Object.keys(found[0]!.fields)) if (INTEGER_FIELDS.has(field)) expect(Number.isInteger(found[0]!.fields[field])).toBe(true);
    }
    // Deterministic: a re-send gives the same points, so InfluxDB overwrites instead of duplicating.
    expect(telegramToPoints(parseTelegram(fixture(name)), RECEIVED)).toEqual(points);
  });
});

describe('telegramToPoints', () => {
  it('DSMR 4.2: electricity at the meter time with the equipment id as sent, gas at its own hourly time', () => {
    const points = pointsOf('V4_2.txt');
    const e = electricity(points);
    expect(e.time).toBe(Date.parse('2016-11-13T20:57:57+01:00'));
    expect(e.tags).toEqual({ meter: '3960221976967177082151037881335713' });
    expect(e.fields).toMatchObject({ import_t1: 1581.123, import_t2: 1435.706, tariff: 2, failures: 15, long_failures: 7, current_l2: 6 });
    expect(points.filter((p) => p.measurement === 'gas')).toEqual([
      { measurement: 'gas', tags: { channel: '1', meter: '4819243993373755377509728609491464' }, fields: { value: 981.443 }, time: Date.parse('2016-11-29T20:00:00+01:00') },
    ]);
  });

  it('DSMR 5: the meter tag is the equipment id decoded to text', () => {
    const points = pointsOf('V5.txt');
    expect(electricity(points).tags).toEqual({ meter: 'K8EG004046395507' });
    expect(points.find((p) => p.measurement === 'gas')?.tags).toEqual({ channel: '1', meter: '2222ABCD123456789' });
  });

  it('skips an M-Bus channel with a placeholder time (1970) and keeps the real device', () => {
    const gas = pointsOf('V5_TWO_MBUS.txt').filter((p) => p.measurement === 'gas');
    expect(gas).toEqual([
      { measurement: 'gas', tags: { channel: '2', meter: 'G0039001936990619' }, fields: { value: 246.138 }, time: Date.parse('2020-04-26T22:30:01+02:00') },
    ]);
  });

  it('Belgian e-MUCS: gas from 24.2.3, water (device type 7), demand fields', () => {
    const points = pointsOf('FLUVIUS_V171.txt');
    expect(electricity(points).fields).toMatchObject({ demand_avg: 2.351, demand_peak_month: 2.589 });
    expect(points.filter((p) => p.measurement !== 'electricity')).toEqual([
      { measurement: 'gas', tags: { channel: '1', meter: '7FLO2119033733' }, fields: { value: 112.384 }, time: Date.parse('2020-05-12T13:45:58+02:00') },
      { measurement: 'water', tags: { channel: '2', meter: '8SAG1234567890' }, fields: { value: 872.234 }, time: Date.parse('2020-05-12T13:45:58+02:00') },
    ]);
  });

  it('heat meter: GJ as the meter says, and no electricity point when there is no electricity field', () => {
    expect(pointsOf('UNPADDED_CRC.txt')).toEqual([
      { measurement: 'heat', tags: { channel: '1', meter: '621848012D2C0B0C' }, fields: { value: 240.86 }, time: Date.parse('2026-02-15T20:05:23+01:00') },
    ]);
  });

  it('Sagemcom sends Wh and W: the fields are kWh and kW', () => {
    expect(electricity(pointsOf('SAGEMCOM_T210_D_R.txt')).fields).toEqual({
      import_total: 6545.766,
      import_t1: 5017.12,
      import_t2: 1528.646,
      power_import: 0.286,
      export_total: 0.058,
      export_t1: 0,
      export_t2: 0.058,
      power_export: 0,
    });
  });

  it('EasyMeter: "*255" references, W -> kW, its 0-0:96.1.255 id, receive time for a meter without clock', () => {
    const e = electricity(pointsOf('ESY5Q3DA1004_V304.txt'));
    expect(e.tags).toEqual({ meter: '1ESY1336001560' });
    expect(e.time).toBe(Date.parse(RECEIVED));
    expect(e.fields.import_total).toBe(32549.5061662);
    expect(e.fields.power_import).toBeCloseTo(1.68821, 9);
    expect(e.fields.power_import_l3).toBeCloseTo(0.6093, 9);
  });

  it('DSMR 2.2 (Kamstrup): the gas reading from the line after 0-1:24.3.0, at its own time', () => {
    const points = pointsOf('SEED_KAMSTRUP162_V2_2.txt');
    expect(electricity(points).time).toBe(Date.parse(RECEIVED));
    expect(points.find((p) => p.measurement === 'gas')).toEqual({
      measurement: 'gas',
      tags: { channel: '1', meter: '352345243543524352345353535353243' },
      fields: { value: 752.852 },
      time: Date.parse('2012-05-31T23:00:00+02:00'),
    });
  });

  it('a telegram without any known register gives no points', () => {
    expect(telegramToPoints(parseTelegram('/XYZ5 none\r\n\r\n0-0:96.13.0()\r\n!\r\n'), RECEIVED)).toEqual([]);
  });

  it('recordToPoints parses the stored raw text', () => {
    const raw = fixture('V5.txt');
    expect(recordToPoints({ seq: 1, receivedAt: RECEIVED, protocol: 'dsmr', raw })).toEqual(telegramToPoints(parseTelegram(raw), RECEIVED));
  });
});

describe('point times', () => {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const telegramAt = (time: string): Parameters<typeof telegramToPoints>[0] => ({
    header: 'XYZ5',
    version: '50',
    time,
    crc: 'ok',
    objects: { '1-0:1.8.1': { value: 1.5, unit: 'kWh' } },
  });

  it('the meter time is the instant Date.parse gives, for any text of the parser\'s form, valid or not', () => {
    fc.assert(
      fc.property(
        fc.record({
          year: fc.integer({ min: 1900, max: 2200 }),
          month: fc.integer({ min: 0, max: 13 }),
          day: fc.integer({ min: 0, max: 32 }),
          hour: fc.integer({ min: 0, max: 25 }),
          minute: fc.integer({ min: 0, max: 60 }),
          second: fc.integer({ min: 0, max: 61 }),
          sign: fc.constantFrom('+', '-'),
          offsetHours: fc.integer({ min: 0, max: 24 }),
          offsetMinutes: fc.integer({ min: 0, max: 60 }),
        }),
        (t) => {
          const iso = `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}${t.sign}${pad(t.offsetHours)}:${pad(t.offsetMinutes)}`;
          const parsed = Date.parse(iso);
          // A time Date.parse refuses is no time: the receive time stands in, as for a meter without a clock.
          expect(electricity(telegramToPoints(telegramAt(iso), RECEIVED)).time).toBe(Number.isFinite(parsed) ? parsed : Date.parse(RECEIVED));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('leap days, summer and winter time, and the turn of a century', () => {
    for (const iso of ['2024-02-29T23:59:59+01:00', '2000-02-29T00:00:00+01:00', '2100-03-01T00:00:00+01:00', '2025-03-30T03:00:00+02:00', '1970-01-01T00:59:59+01:00', '2023-02-29T12:00:00+01:00']) {
      const parsed = Date.parse(iso);
      expect(electricity(telegramToPoints(telegramAt(iso), RECEIVED)).time).toBe(Number.isFinite(parsed) ? parsed : Date.parse(RECEIVED));
    }
  });
});

describe('recordToPoints (from the text, without the parsed record) and telegramToPoints agree', () => {
  const texts = telegramFiles().map(fixture);
  // Lines sent twice, dropped, swapped or broken: the text path keeps a repeated reference as the record does.
  const edit = fc.record({ line: fc.nat(60), how: fc.constantFrom('repeat', 'drop', 'swap', 'break', 'digit' as const) });

  function edited(text: string, edits: Array<{ line: number; how: 'repeat' | 'drop' | 'swap' | 'break' | 'digit' }>): string {
    const lines = text.split('\n');
    for (const { line, how } of edits) {
      const at = 1 + (line % Math.max(1, lines.length - 2));
      const other = 1 + ((line * 7) % Math.max(1, lines.length - 2));
      if (how === 'repeat') lines.splice(other, 0, lines[at] ?? '');
      else if (how === 'drop') lines.splice(at, 1);
      else if (how === 'swap') [lines[at], lines[other]] = [lines[other] ?? '', lines[at] ?? ''];
      else if (how === 'break') lines[at] = `${(lines[at] ?? '').slice(0, 9)}(x\r`;
      else lines[at] = (lines[at] ?? '').replace(/\d(?=[^\d]*$)/, (d) => String((Number(d) + 3) % 10));
    }
    return lines.join('\n');
  }

  it('on every fixture, edited the ways real streams go wrong', () => {
    fc.assert(
      fc.property(fc.nat(texts.length - 1), fc.array(edit, { maxLength: 4 }), (index, edits) => {
        const raw = edited(texts[index]!, edits);
        expect(recordToPoints({ seq: 1, receivedAt: RECEIVED, protocol: 'dsmr', raw })).toEqual(telegramToPoints(parseTelegram(raw), RECEIVED));
      }),
      { numRuns: 400 },
    );
  });
});
