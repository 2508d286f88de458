import { describe, expect, it } from 'vitest';
import { isoToEpochMs, parseDsmrTime } from '../../src/telegram/time.js';

describe('DSMR timestamps', () => {
  it.each([
    ['161113205757W', '2016-11-13T20:57:57+01:00'],
    ['200512135409S', '2020-05-12T13:54:09+02:00'],
    ['000101000001W', '2000-01-01T00:00:01+01:00'],
    ['700101010000W', '1970-01-01T01:00:00+01:00'],
  ])('%s with its S/W flag -> %s', (text, iso) => {
    expect(parseDsmrTime(text)).toBe(iso);
  });

  // Some Landis+Gyr E350 firmware writes the flag in lower case (dsmr-reader accepts it too).
  it.each([
    ['150701190000s', '2015-07-01T19:00:00+02:00'],
    ['161113205757w', '2016-11-13T20:57:57+01:00'],
  ])('%s with a lower-case flag reads as upper case -> %s', (text, iso) => {
    expect(parseDsmrTime(text)).toBe(iso);
  });

  it.each([
    ['120531230000', 'Europe/Amsterdam', '2012-05-31T23:00:00+02:00'],
    ['161107190000', 'Europe/Amsterdam', '2016-11-07T19:00:00+01:00'],
    // 2:30 on the last Sunday of October happens twice: the first (summer) one is taken.
    ['231029023000', 'Europe/Amsterdam', '2023-10-29T02:30:00+02:00'],
    ['231029033000', 'Europe/Amsterdam', '2023-10-29T03:30:00+01:00'],
    // 2:30 on the last Sunday of March does not exist: the instant after the jump.
    ['230326023000', 'Europe/Amsterdam', '2023-03-26T02:30:00+01:00'],
    ['230326033000', 'Europe/Brussels', '2023-03-26T03:30:00+02:00'],
    ['240101120000', 'Europe/London', '2024-01-01T12:00:00+00:00'],
  ])('DSMR 2.2/3 local time %s in %s -> %s', (text, zone, iso) => {
    expect(parseDsmrTime(text, zone)).toBe(iso);
  });

  it.each(['632525252525W', '231302000000W', '230230120000S', '230229120000W', '2301011200X0S', '23010112000', '230101120000X'])(
    'rejects %s (not a date) as null',
    (text) => {
      expect(parseDsmrTime(text)).toBeNull();
    },
  );
});

describe('isoToEpochMs', () => {
  it('agrees with Date.parse on the times parseDsmrTime writes, leap days and offsets included', () => {
    for (const text of ['240229120000W', '000229000000W', '161113205757W', '200512135409S', '991231235959W', '700101010000W']) {
      const iso = parseDsmrTime(text)!;
      expect(isoToEpochMs(iso), iso).toBe(Date.parse(iso));
    }
  });

  it('leaves anything else to Date.parse (undefined)', () => {
    for (const iso of ['2023-02-29T12:00:00+01:00', '2023-01-01T12:00:00Z', '2023-13-01T12:00:00+01:00', 'not a time']) {
      expect(isoToEpochMs(iso), iso).toBeUndefined();
    }
  });
});
