import { describe, expect, it } from 'vitest';
import { TelegramFramer } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import type { Telegram } from '../../src/telegram/types.js';
import { formatMeterTime } from '../../src/sources/meter-time.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';

/** Frames and parses a batch of telegrams the way `p1logger read` does; every one must pass its CRC. */
function parseAll(texts: string[]): Telegram[] {
  const framer = new TelegramFramer();
  const out: Telegram[] = [];
  for (const text of texts) {
    for (const event of framer.push(Buffer.from(text, 'latin1'))) {
      if (event.type !== 'telegram') throw new Error(`framer said ${JSON.stringify(event).slice(0, 300)}`);
      out.push(parseTelegram(event.raw, { crc: event.crc }));
    }
  }
  expect(framer.stats).toMatchObject({ crcErrors: 0, invalid: 0, truncated: 0, junkBytes: 0 });
  return out;
}

function num(t: Telegram, reference: string): number {
  const value = t.objects[reference]?.value;
  if (typeof value !== 'number') throw new Error(`${reference} is ${JSON.stringify(value)}`);
  return value;
}

function run(dsmr: '5' | '2.2', startMs: number, stepMs: number, count: number, seed = 1): { texts: string[]; times: number[] } {
  const meter = new VirtualMeter({ dsmr, seed, startMs });
  const times = Array.from({ length: count }, (_, i) => startMs + i * stepMs);
  return { texts: times.map((t) => meter.telegramAt(t)), times };
}

const COUNTERS = ['1-0:1.8.1', '1-0:1.8.2', '1-0:2.8.1', '1-0:2.8.2', '0-0:96.7.21', '0-0:96.7.9', '1-0:32.32.0', '1-0:52.32.0', '1-0:72.32.0'];

describe('VirtualMeter, DSMR 5', () => {
  // 10,000 telegrams a second apart from a June dawn (06:00 local): household import, then solar export.
  const start = Date.UTC(2024, 5, 12, 4, 0, 0);
  const { texts, times } = run('5', start, 1000, 10_000);
  const telegrams = parseAll(texts);

  it('sends 10,000 telegrams that frame with valid CRCs and parse without errors', () => {
    expect(telegrams.length).toBe(10_000);
    for (const t of telegrams) {
      expect(t.crc).toBe('ok');
      expect(t.version).toBe('50');
      expect(t.errors ?? []).toEqual([]);
    }
    expect(texts[0]).toMatch(/^\/SIM5.*\r\n\r\n1-3:0\.2\.8\(50\)\r\n/);
    expect(texts[0]).toMatch(/\r\n![0-9A-F]{4}\r\n$/);
  });

  it('never lets a counter go down, and its clock only goes forward', () => {
    const problems: string[] = [];
    for (let i = 1; i < telegrams.length; i++) {
      for (const ref of [...COUNTERS, '0-1:24.2.1']) {
        if (num(telegrams[i]!, ref) < num(telegrams[i - 1]!, ref)) problems.push(`telegram ${i}: ${ref} went down`);
      }
      if (Date.parse(telegrams[i]!.time!) !== times[i]) problems.push(`telegram ${i}: time ${telegrams[i]!.time}`);
    }
    expect(problems).toEqual([]);
    // And they do move.
    expect(num(telegrams[9999]!, '1-0:1.8.1') + num(telegrams[9999]!, '1-0:1.8.2')).toBeGreaterThan(
      num(telegrams[0]!, '1-0:1.8.1') + num(telegrams[0]!, '1-0:1.8.2'),
    );
  });

  it('integrates its power into its energy counters within rounding', () => {
    let importKwh = 0;
    let exportKwh = 0;
    for (let i = 1; i < telegrams.length; i++) {
      const hours = (times[i]! - times[i - 1]!) / 3_600_000;
      importKwh += num(telegrams[i]!, '1-0:1.7.0') * hours;
      exportKwh += num(telegrams[i]!, '1-0:2.7.0') * hours;
    }
    const first = telegrams[0]!;
    const last = telegrams[telegrams.length - 1]!;
    const imported = num(last, '1-0:1.8.1') + num(last, '1-0:1.8.2') - num(first, '1-0:1.8.1') - num(first, '1-0:1.8.2');
    const exported = num(last, '1-0:2.8.1') + num(last, '1-0:2.8.2') - num(first, '1-0:2.8.1') - num(first, '1-0:2.8.2');
    // Each counter shows whole Wh (truncated): two counters, 1 Wh each, plus float noise.
    expect(Math.abs(imported - importKwh)).toBeLessThan(0.0025);
    expect(Math.abs(exported - exportKwh)).toBeLessThan(0.0025);
    // Not trivially zero: this stretch has both.
    expect(importKwh).toBeGreaterThan(0.1);
    expect(exportKwh).toBeGreaterThan(0.1);
  });

  it('keeps the phases, voltages and currents consistent with the totals', () => {
    for (const t of telegrams.slice(0, 2000)) {
      const net =
        num(t, '1-0:21.7.0') + num(t, '1-0:41.7.0') + num(t, '1-0:61.7.0') - num(t, '1-0:22.7.0') - num(t, '1-0:42.7.0') - num(t, '1-0:62.7.0');
      expect(num(t, '1-0:1.7.0') - num(t, '1-0:2.7.0')).toBeCloseTo(net, 6);
      expect(num(t, '1-0:1.7.0') === 0 || num(t, '1-0:2.7.0') === 0).toBe(true);
      for (const [v, i, pIn, pOut] of [
        ['1-0:32.7.0', '1-0:31.7.0', '1-0:21.7.0', '1-0:22.7.0'],
        ['1-0:52.7.0', '1-0:51.7.0', '1-0:41.7.0', '1-0:42.7.0'],
        ['1-0:72.7.0', '1-0:71.7.0', '1-0:61.7.0', '1-0:62.7.0'],
      ] as const) {
        expect(num(t, v)).toBeGreaterThan(220);
        expect(num(t, v)).toBeLessThan(240);
        const watts = (num(t, pIn) + num(t, pOut)) * 1000;
        expect(Math.abs(num(t, i) - watts / num(t, v))).toBeLessThanOrEqual(0.5 + 1e-9);
      }
    }
  });

  it('reports gas every 5 minutes with the capture time of the reading', () => {
    const gasTimes = new Set(telegrams.map((t) => t.objects['0-1:24.2.1']!.time!));
    for (const time of gasTimes) expect(new Date(time).getUTCMinutes() % 5 === 0 && new Date(time).getUTCSeconds() === 0).toBe(true);
    // 10,000 s is 33 five-minute periods and a bit.
    expect(gasTimes.size).toBeGreaterThanOrEqual(33);
    expect(gasTimes.size).toBeLessThanOrEqual(35);
  });

  it('carries the failure log with one entry per long failure', () => {
    const t = telegrams[0]!;
    const log = t.objects['1-0:99.97.0']!.value as unknown[];
    expect(log.length).toBe(num(t, '0-0:96.7.9'));
    expect(log.length).toBeGreaterThan(0);
  });
});

describe('VirtualMeter, a day in the life', () => {
  const day = (startMs: number, dsmr: '5' | '2.2' = '5'): Telegram[] => parseAll(run(dsmr, startMs, 60_000, 24 * 60, 5).texts);
  const summer = day(Date.UTC(2024, 6, 3, 22, 0, 0)); // Wednesday 4 July, local midnight
  const winter = day(Date.UTC(2024, 0, 16, 23, 0, 0)); // Wednesday 17 January

  const at = (telegrams: Telegram[], hour: number): Telegram[] => telegrams.filter((t) => Number(t.time!.slice(11, 13)) === hour);
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

  it('exports solar power around noon in summer and none at night', () => {
    expect(mean(at(summer, 13).map((t) => num(t, '1-0:2.7.0')))).toBeGreaterThan(0.5);
    expect(Math.max(...at(summer, 2).map((t) => num(t, '1-0:2.7.0')))).toBe(0);
    expect(Math.min(...at(summer, 2).map((t) => num(t, '1-0:1.7.0')))).toBeGreaterThan(0.05);
  });

  it('uses more in the evening than at night (base load plus appliances and lights)', () => {
    const evening = [18, 19, 20].flatMap((h) => at(winter, h)).map((t) => num(t, '1-0:1.7.0'));
    const night = [2, 3, 4].flatMap((h) => at(winter, h)).map((t) => num(t, '1-0:1.7.0'));
    expect(mean(evening)).toBeGreaterThan(mean(night) * 1.5);
  });

  it('switches tariff: low (1) at night, normal (2) on a weekday afternoon', () => {
    expect(at(summer, 3).every((t) => num(t, '0-0:96.14.0') === 1)).toBe(true);
    expect(at(summer, 15).every((t) => num(t, '0-0:96.14.0') === 2)).toBe(true);
  });

  it('burns more gas on a winter day than on a summer day', () => {
    const used = (ts: Telegram[]): number => num(ts[ts.length - 1]!, '0-1:24.2.1') - num(ts[0]!, '0-1:24.2.1');
    expect(used(winter)).toBeGreaterThan(used(summer) * 3);
    expect(used(winter)).toBeGreaterThan(5);
    expect(used(winter)).toBeLessThan(40);
  });
});

describe('VirtualMeter, DSMR 2.2', () => {
  const start = Date.UTC(2024, 1, 1, 10, 17, 0);
  const { texts } = run('2.2', start, 10_000, 800);
  const telegrams = parseAll(texts);

  it('writes the DSMR 2.2 form: no CRC, no meter time, gas hourly on the next line', () => {
    const text = texts[0]!;
    expect(text).toMatch(/\r\n!\r\n$/);
    expect(text).not.toContain('0-0:1.0.0');
    expect(text).toMatch(/\r\n0-1:24\.3\.0\(\d{12}\)\(00\)\(60\)\(1\)\(0-1:24\.2\.1\)\(m3\)\r\n\(\d{5}\.\d{3}\)\r\n/);
    expect(text).toMatch(/\r\n1-0:1\.7\.0\(\d{4}\.\d{2}\*kW\)\r\n/);
    expect(text).toMatch(/\r\n1-0:1\.8\.1\(\d{5}\.\d{3}\*kWh\)\r\n/);
    for (const t of telegrams) {
      expect(t.crc).toBe('none');
      expect(t.errors ?? []).toEqual([]);
    }
  });

  it('reports gas at whole hours and keeps counters growing', () => {
    const first = telegrams[0]!.objects['0-1:24.3.0']!;
    expect(first.time).toBe('2024-02-01T11:00:00+01:00');
    const hours = new Set(telegrams.map((t) => t.objects['0-1:24.3.0']!.time));
    expect(hours.size).toBe(3); // 8000 s from 11:17 local: 11:00, 12:00, 13:00
    for (let i = 1; i < telegrams.length; i++) {
      for (const ref of ['1-0:1.8.1', '1-0:1.8.2', '1-0:2.8.1', '1-0:2.8.2', '0-1:24.3.0']) {
        expect(num(telegrams[i]!, ref)).toBeGreaterThanOrEqual(num(telegrams[i - 1]!, ref));
      }
    }
  });
});

describe('VirtualMeter, determinism and time', () => {
  it('gives the same telegrams for the same seed and times, another household for another seed', () => {
    const a = run('5', Date.UTC(2024, 4, 1), 1000, 50, 9).texts;
    const b = run('5', Date.UTC(2024, 4, 1), 1000, 50, 9).texts;
    const c = run('5', Date.UTC(2024, 4, 1), 1000, 50, 10).texts;
    expect(a).toEqual(b);
    expect(c[0]!.match(/0-0:96\.1\.1\((\w+)\)/)![1]).not.toBe(a[0]!.match(/0-0:96\.1\.1\((\w+)\)/)![1]);
  });

  it('flags summer and winter time as Europe/Amsterdam switches', () => {
    expect(formatMeterTime(Date.UTC(2024, 2, 31, 0, 59, 59), true)).toBe('240331015959W');
    expect(formatMeterTime(Date.UTC(2024, 2, 31, 1, 0, 0), true)).toBe('240331030000S');
    expect(formatMeterTime(Date.UTC(2024, 9, 27, 0, 59, 59), true)).toBe('241027025959S');
    expect(formatMeterTime(Date.UTC(2024, 9, 27, 1, 0, 0), true)).toBe('241027020000W');
    expect(formatMeterTime(Date.UTC(2024, 9, 27, 1, 0, 0), false)).toBe('241027020000');
  });

  it('carries S/W through a DST switch in its telegrams', () => {
    const telegrams = parseAll(run('5', Date.UTC(2024, 9, 27, 0, 59, 58), 1000, 4).texts);
    expect(telegrams.map((t) => t.time)).toEqual([
      '2024-10-27T02:59:58+02:00',
      '2024-10-27T02:59:59+02:00',
      '2024-10-27T02:00:00+01:00',
      '2024-10-27T02:00:01+01:00',
    ]);
  });
});
