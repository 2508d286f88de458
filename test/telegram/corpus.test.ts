import { describe, expect, it } from 'vitest';
import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import type { Telegram } from '../../src/telegram/types.js';
import { fixtureBytes, hasSharedCorpus, sharedCorpusDir, telegramFiles } from '../support/fixtures.js';

function frameAll(bytes: Uint8Array): FrameEvent[] {
  const framer = new TelegramFramer();
  return [...framer.push(bytes), ...framer.end()];
}

function parseFixture(name: string, dir?: string): Telegram {
  const events = frameAll(fixtureBytes(name, dir));
  const telegrams = events.filter((e) => e.type === 'telegram');
  expect(telegrams, `${name}: exactly one telegram`).toHaveLength(1);
  const [event] = telegrams;
  if (event?.type !== 'telegram') throw new Error('unreachable');
  return parseTelegram(event.raw, { crc: event.crc });
}

const value = (t: Telegram, ref: string): unknown => t.objects[ref]?.value;

/** What users graph, per meter: energy per tariff, power, gas with its own time, voltages, peaks, failures. */
const expectations: Record<string, (t: Telegram) => void> = {
  'SEED_KAMSTRUP162_V2_2.txt': (t) => {
    expect(t.header).toBe('KMP5 KA6U005464565461');
    expect(t.crc).toBe('none');
    expect(value(t, '1-0:1.8.1')).toBe(913);
    expect(value(t, '1-0:1.8.2')).toBe(787);
    expect(t.objects['1-0:1.7.0']).toEqual({ value: 0.25, unit: 'kW' });
    expect(value(t, '0-0:96.14.0')).toBe(1);
    expect(t.objects['0-1:24.3.0']).toEqual({ value: 752.852, unit: 'm3', time: '2012-05-31T23:00:00+02:00' });
  },
  'V2_2.txt': (t) => {
    expect(t.crc).toBe('none');
    expect(t.version).toBeNull();
    expect(t.objects['0-1:24.3.0']).toEqual({ value: 1.001, unit: 'm3', time: '2016-11-07T19:00:00+01:00' });
    expect(t.objects['0-0:17.0.0']).toEqual({ value: 999, unit: 'kW' });
  },
  'V3.txt': (t) => {
    expect(value(t, '1-0:1.8.1')).toBe(12345.678);
    expect(value(t, '0-0:96.14.0')).toBe(2);
    expect(t.objects['0-0:96.1.1']).toEqual({ value: '4B384547303034303436333935353037', text: 'K8EG004046395507' });
    expect(t.objects['0-0:96.13.1']?.text).toBe('012345678');
    expect(t.objects['0-0:96.13.0']?.text).toBe('0123456789:;<=>?'.repeat(5));
    expect(t.objects['0-1:24.3.0']).toEqual({ value: 1.001, unit: 'm3', time: '2009-02-12T16:00:00+01:00' });
  },
  'V4_2.txt': (t) => {
    expect(t).toMatchObject({ header: 'KFM5KAIFA-METER', version: '42', time: '2016-11-13T20:57:57+01:00', crc: 'ok' });
    expect(value(t, '1-0:1.8.1')).toBe(1581.123);
    expect(value(t, '1-0:1.8.2')).toBe(1435.706);
    expect(t.objects['1-0:1.7.0']).toEqual({ value: 2.027, unit: 'kW' });
    expect(value(t, '0-0:96.7.21')).toBe(15);
    expect(value(t, '0-0:96.7.9')).toBe(7);
    expect(value(t, '1-0:99.97.0')).toEqual([
      { time: '2000-01-04T18:03:20+01:00', duration: 237126, unit: 's' },
      { time: '2000-01-01T00:00:01+01:00', duration: 2147583646, unit: 's' },
      { time: '2000-01-02T00:00:03+01:00', duration: 2317482647, unit: 's' },
    ]);
    expect(t.objects['0-1:24.2.1']).toEqual({ value: 981.443, unit: 'm3', time: '2016-11-29T20:00:00+01:00' });
    expect(t.objects['1-0:51.7.0']).toEqual({ value: 6, unit: 'A' });
  },
  'V5.txt': (t) => {
    expect(t).toMatchObject({ version: '50', time: '2017-01-02T19:20:02+01:00', crc: 'ok' });
    expect(value(t, '1-0:2.8.1')).toBe(2.444);
    expect(t.objects['1-0:32.7.0']).toEqual({ value: 230, unit: 'V' });
    expect(t.objects['1-0:72.7.0']).toEqual({ value: 229, unit: 'V' });
    expect(t.objects['1-0:71.7.0']).toEqual({ value: 0.86, unit: 'A' });
    expect(value(t, '1-0:99.97.0')).toEqual([]);
    expect(t.objects['0-1:24.2.1']).toEqual({ value: 0.107, unit: 'm3', time: '2017-01-02T16:10:05+01:00' });
    expect(t.objects['0-2:24.1.0']?.value).toBe(3);
    expect(t.objects['0-2:96.1.0']).toEqual({ value: '' });
  },
  'V5_TWO_MBUS.txt': (t) => {
    expect(t.time).toBe('2020-04-26T22:33:25+02:00');
    expect(value(t, '1-0:99.97.0')).toEqual([{ time: '2019-03-26T09:50:15+01:00', duration: 2014, unit: 's' }]);
    expect(value(t, '1-0:72.32.0')).toBe(192);
    expect(t.objects['0-1:24.2.1']).toEqual({ value: 0, time: '1970-01-01T01:00:00+01:00' });
    expect(t.objects['0-2:24.2.1']).toEqual({ value: 246.138, unit: 'm3', time: '2020-04-26T22:30:01+02:00' });
    expect(t.objects['0-2:96.1.0']?.text).toBe('G0039001936990619');
  },
  'UNPADDED_CRC.txt': (t) => {
    expect(t.crc).toBe('ok');
    expect(t.objects['0-1:24.1.0']?.value).toBe(4);
    expect(t.objects['0-1:24.2.1']).toEqual({ value: 240.86, unit: 'GJ', time: '2026-02-15T20:05:23+01:00' });
  },
  'FLUVIUS_V171.txt': (t) => {
    expect(t).toMatchObject({ version: '50217', time: '2020-05-12T13:54:09+02:00', crc: 'ok' });
    expect(t.objects['1-0:1.4.0']).toEqual({ value: 2.351, unit: 'kW' });
    expect(t.objects['1-0:1.6.0']).toEqual({ value: 2.589, unit: 'kW', time: '2020-05-09T13:45:58+02:00' });
    expect(value(t, '0-0:98.1.0')).toEqual([
      // The meter flags these times S (summer) even in early March: the flag, not the calendar, gives the offset.
      { time: '2020-05-01T00:00:00+02:00', peakTime: '2020-04-23T19:25:38+02:00', value: 3.695, unit: 'kW' },
      { time: '2020-04-01T00:00:00+02:00', peakTime: '2020-03-05T12:21:39+02:00', value: 5.98, unit: 'kW' },
      { time: '2020-03-01T00:00:00+02:00', peakTime: '2020-02-10T03:54:21+01:00', value: 4.318, unit: 'kW' },
    ]);
    expect(t.objects['0-1:24.2.3']).toEqual({ value: 112.384, unit: 'm3', time: '2020-05-12T13:45:58+02:00' });
    expect(t.objects['0-2:24.1.0']?.value).toBe(7);
    expect(t.objects['0-2:24.2.1']).toEqual({ value: 872.234, unit: 'm3', time: '2020-05-12T13:45:58+02:00' });
  },
  'FLUVIUS_V171_ALT.txt': (t) => {
    expect(t.time).toBe('2023-11-02T12:15:48+01:00');
    const history = value(t, '0-0:98.1.0') as Array<{ peakTime: string | null }>;
    expect(history).toHaveLength(4);
    // `632525252525W` is the meter's placeholder for "no peak yet": not a date.
    expect(history[0]).toEqual({ time: '2023-08-01T00:00:00+02:00', peakTime: null, value: 0, unit: 'kW' });
    expect(history[3]?.peakTime).toBe('2023-10-16T13:00:00+02:00');
  },
  'SAGEMCOM_T210_D_R.txt': (t) => {
    expect(t.objects['1-0:1.8.1']).toEqual({ value: 5017120, unit: 'Wh' });
    expect(t.objects['1-0:1.7.0']).toEqual({ value: 286, unit: 'W' });
    // Reactive energy is outside the table: kept, generically parsed, with its raw line.
    expect(t.objects['1-0:4.8.0']).toEqual({ value: 3897726, unit: 'varh', raw: '1-0:4.8.0(003897726*varh)' });
  },
  'ISKRA_IE.txt': (t) => {
    expect(t.header).toBe('ISk5\u0002MIE5T-200');
    expect(t.time).toBe('2023-02-02T13:27:47+02:00');
    expect(t.objects['1-0:62.7.0']).toEqual({ value: 0.627, unit: 'kW' });
    expect(t.objects['1-0:72.7.0']).toEqual({ value: 243.3, unit: 'V' });
  },
  'V5_EON_HU.txt': (t) => {
    expect(t.objects['1-0:1.8.0']).toEqual({ value: 173.64, unit: 'kWh' });
    expect(t.objects['1-0:2.7.0']).toEqual({ value: 2.601, unit: 'kW' });
    expect(t.objects['1-0:14.7.0']).toEqual({ value: 50, unit: 'Hz' });
    expect(t.objects['0-0:42.0.0']?.text).toBe('SAG3082200002160');
    const monthly = t.objects['0-0:98.1.0'];
    expect(monthly?.time).toBe('2023-07-01T00:00:00+02:00');
    expect((monthly?.value as unknown[]).length).toBe(19);
  },
  'ESY5Q3DA1004_V304.txt': (t) => {
    expect(t.crc).toBe('none');
    expect(t.objects['1-0:1.8.0*255']).toEqual({ value: 32549.5061662, unit: 'kWh' });
    expect(t.objects['1-0:1.7.0*255']).toEqual({ value: 1688.21, unit: 'W' });
    expect(t.objects['0-0:96.1.255*255']?.value).toBe('1ESY1336001560');
  },
  'ESY5Q3DB1024_V304.txt': (t) => {
    expect(t.objects['1-0:2.8.0*255']).toEqual({ value: 19949.3221493, unit: 'kWh' });
  },
};

describe('the telegram corpus', () => {
  it('has an expectation for every fixture file', () => {
    expect(Object.keys(expectations).sort()).toEqual(telegramFiles());
  });

  for (const file of telegramFiles()) {
    it(`${file} frames to one valid telegram that parses without line errors`, () => {
      const t = parseFixture(file);
      expect(t.errors).toBeUndefined();
      expectations[file]!(t);
    });
  }

  // The team's corpus lives beside the checkout (../shared/telegrams); a clone elsewhere has only the copy above.
  it.skipIf(!hasSharedCorpus())('the shared corpus beside the checkout parses the same, file for file', () => {
    for (const file of telegramFiles(sharedCorpusDir)) {
      const t = parseFixture(file, sharedCorpusDir);
      expect(t.errors, file).toBeUndefined();
      const check = expectations[file];
      expect(check, `${file} is in the shared corpus but has no expectation here`).toBeDefined();
      check!(t);
    }
  });

  it('EasyMeter trailer lines and 0xFF padding after "!" count as junk, not as a telegram', () => {
    const events = frameAll(fixtureBytes('ESY5Q3DB1024_V304.txt'));
    expect(events.filter((e) => e.type === 'telegram')).toHaveLength(1);
    const junk = events.filter((e) => e.type === 'junk').reduce((n, e) => n + (e.type === 'junk' ? e.bytes : 0), 0);
    expect(junk).toBe('  25803103\r\n'.length + 33 + 2);
  });
});
