import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, GAP_MS, type AggregatorState, type HistoryEvent } from '../../src/history/aggregate.js';
import { dayStart, nextDayStart } from '../../src/history/buckets.js';
import { rollUp, type HistoryRow } from '../../src/history/row.js';
import type { HistorySample } from '../../src/history/sample.js';

const TZ = 'Europe/Amsterdam';

/** The test's own calendar (Intl, not the code under test): local date and minute of an instant. */
const wall = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
function localParts(ms: number): { date: string; minute: number } {
  const parts = Object.fromEntries(wall.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, minute: Number(parts.minute) };
}
/** The local day a reading at `ms` closes (readings count for (start, end]). */
const dayOfReading = (ms: number): string => localParts(ms - 1).date;

interface Step {
  dtS: number;
  import: number;
  export: number;
  /** The meter is swapped for one with lower counters. */
  reset: boolean;
}

function sampleAt(time: number, counters: { t1: number; t2: number; e1: number; e2: number }, gas?: { time: number; value: number }): HistorySample {
  return {
    time,
    meter: 'M1',
    importT1: counters.t1 / 1000,
    importT2: counters.t2 / 1000,
    exportT1: counters.e1 / 1000,
    exportT2: counters.e2 / 1000,
    powerImport: 0.5,
    powerExport: 0,
    current: [2, 1, null],
    voltage: [230.1, 229.5, null],
    devices: gas === undefined ? [] : [{ key: 'gas:1:G1', kind: 'gas', channel: '1', meter: 'G1', value: gas.value, time: gas.time }],
  };
}

/** Counters in Wh (what a meter shows, to 3 decimals of kWh); T1 on odd local hours, T2 on even. */
function simulate(startMs: number, steps: Step[]): { samples: HistorySample[]; deltas: Array<{ time: number; wh: number; dtMs: number; reset: boolean }> } {
  const c = { t1: 1_234_567, t2: 7_654_321, e1: 10_000, e2: 20_000 };
  let t = startMs;
  const samples = [sampleAt(t, c)];
  const deltas: Array<{ time: number; wh: number; dtMs: number; reset: boolean }> = [];
  for (const step of steps) {
    t += step.dtS * 1000;
    if (step.reset) {
      c.t1 = 5;
      c.t2 = 7;
    } else if (new Date(t).getUTCHours() % 2 === 1) c.t1 += step.import;
    else c.t2 += step.import;
    c.e1 += step.export;
    samples.push(sampleAt(t, c));
    deltas.push({ time: t, wh: step.reset ? 0 : step.import, dtMs: step.dtS * 1000, reset: step.reset });
  }
  return { samples, deltas };
}

const step = fc.record({
  dtS: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.integer({ min: GAP_MS / 1000 + 1, max: 30_000 }) }),
  import: fc.integer({ min: 0, max: 40 }),
  export: fc.integer({ min: 0, max: 5 }),
  reset: fc.boolean().map((b) => b && Math.random() < 0.02),
});

/** Around the spring and autumn transitions of 2025 and an ordinary week. */
const start = fc.constantFrom('2025-03-29T20:00:00Z', '2025-10-25T20:00:00Z', '2025-01-10T22:59:30Z').chain((iso) => fc.integer({ min: 0, max: 6 * 3600 }).map((s) => Date.parse(iso) + s * 1000));

function run(samples: HistorySample[], events: HistoryEvent[] = []): HistoryRow[] {
  const aggregator = new Aggregator(TZ, undefined, { onEvent: (e) => events.push(e) });
  for (const s of samples) aggregator.add(s);
  return aggregator.finishAll();
}

const days = (hours: HistoryRow[]): HistoryRow[] => rollUp(hours, (s) => ({ start: dayStart(s, TZ), end: nextDayStart(dayStart(s, TZ), TZ) }));
const imported = (r: HistoryRow): number => r.importT1Wh + r.importT2Wh;

describe('aggregation: properties over simulated readings', () => {
  it('a day is the sum of its hours, and the counter difference over it (gaps apart)', () => {
    fc.assert(
      fc.property(start, fc.array(step, { minLength: 1, maxLength: 3000 }), (startMs, steps) => {
        const { samples, deltas } = simulate(startMs, steps);
        const hours = run(samples);
        const perDay = new Map<string, { attributed: number; gap: number }>();
        for (const d of deltas) {
          const day = dayOfReading(d.time);
          const sums = perDay.get(day) ?? { attributed: 0, gap: 0 };
          if (d.dtMs > GAP_MS) sums.gap += d.wh;
          else sums.attributed += d.wh;
          perDay.set(day, sums);
        }
        for (const day of days(hours)) {
          const expected = perDay.get(localParts(day.start).date) ?? { attributed: 0, gap: 0 };
          const ofHours = hours.filter((h) => h.start >= day.start && h.start < day.end);
          expect(imported(day)).toBe(ofHours.reduce((n, h) => n + imported(h), 0));
          expect(imported(day)).toBe(expected.attributed);
          expect(day.gapImportWh).toBe(expected.gap);
        }
        // Every telegram is in exactly one hour.
        expect(hours.reduce((n, h) => n + h.telegrams, 0)).toBe(samples.length);
      }),
      { numRuns: 60 },
    );
  });

  it('never counts negative use: a meter with lower counters is a marked reset, logged', () => {
    fc.assert(
      fc.property(start, fc.array(step, { minLength: 1, maxLength: 500 }), fc.integer({ min: 0, max: 499 }), (startMs, steps, at) => {
        const forced = steps.map((s, i) => (i === at % steps.length ? { ...s, reset: true, dtS: 10 } : { ...s, reset: false }));
        const events: HistoryEvent[] = [];
        const hours = run(simulate(startMs, forced).samples, events);
        for (const h of hours) for (const v of [h.importT1Wh, h.importT2Wh, h.exportT1Wh, h.exportT2Wh, h.gapImportWh]) expect(v).toBeGreaterThanOrEqual(0);
        expect(hours.reduce((n, h) => n + h.resets, 0)).toBe(1);
        expect(events.filter((e) => e.type === 'counter-reset')).toHaveLength(1);
      }),
      { numRuns: 40 },
    );
  });

  it('aggregating in pieces, with the state stored as JSON in between, gives the same rows', () => {
    fc.assert(
      fc.property(start, fc.array(step, { minLength: 2, maxLength: 1500 }), fc.array(fc.integer({ min: 1, max: 1500 }), { maxLength: 5 }), (startMs, steps, cuts) => {
        const { samples } = simulate(startMs, steps);
        const whole = run(samples);
        let state: AggregatorState | undefined;
        const pieces: HistoryRow[] = [];
        const bounds = [0, ...[...new Set(cuts.map((c) => c % samples.length))].sort((a, b) => a - b), samples.length];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const aggregator = new Aggregator(TZ, state);
          for (const s of samples.slice(bounds[i], bounds[i + 1])) aggregator.add(s);
          pieces.push(...aggregator.takeFinished());
          state = JSON.parse(JSON.stringify(aggregator.state())) as AggregatorState;
        }
        pieces.push(...new Aggregator(TZ, state).finishAll());
        expect(pieces).toEqual(whole);
      }),
      { numRuns: 40 },
    );
  });
});

describe('aggregation: days in the time zone', () => {
  /** One reading every 10 s for the whole local day, +1 Wh each. */
  function wholeDay(date: string): HistoryRow[] {
    const from = Date.parse(`${date}T00:00:00Z`) - 3 * 3600_000;
    const steps = Array.from({ length: (30 * 3600) / 10 }, () => ({ dtS: 10, import: 1, export: 0, reset: false }));
    return run(simulate(from, steps).samples).filter((h) => localParts(h.start).date === date);
  }

  it.each([
    ['2025-03-30', 23, 'clocks go forward'],
    ['2025-10-26', 25, 'clocks go back: 02:00 twice'],
    ['2025-06-15', 24, 'an ordinary day'],
  ])('%s has %i hour rows (%s), each starting on a local full hour, 360 telegrams each', (date, count) => {
    const hours = wholeDay(date);
    expect(hours).toHaveLength(count);
    for (const h of hours) {
      expect(localParts(h.start).minute).toBe(0);
      expect(h.end - h.start).toBe(3600_000);
      expect(h.telegrams).toBe(360);
      expect(imported(h)).toBe(360);
    }
    const [day] = days(hours);
    expect(day!.end - day!.start).toBe(count * 3600_000);
    expect(imported(day!)).toBe(count * 360);
  });
});

describe('aggregation: gaps and M-Bus readings', () => {
  it('a gap is a gap: no rows for the hours the logger was off, its use marked on the row after it', () => {
    const t0 = Date.parse('2025-01-10T08:00:05Z');
    const c = { t1: 1000, t2: 0, e1: 0, e2: 0 };
    const samples = [sampleAt(t0, c), sampleAt(t0 + 10_000, { ...c, t1: 1010 }), sampleAt(t0 + 5 * 3600_000 + 20_000, { ...c, t1: 3010 }), sampleAt(t0 + 5 * 3600_000 + 30_000, { ...c, t1: 3011 })];
    const hours = run(samples);
    expect(hours.map((h) => new Date(h.start).toISOString())).toEqual(['2025-01-10T08:00:00.000Z', '2025-01-10T13:00:00.000Z']);
    expect(hours[0]!.importT1Wh).toBe(10);
    expect(hours[1]).toMatchObject({ importT1Wh: 1, gaps: 1, gapImportWh: 2000, telegrams: 2, gapSeconds: 5 * 3600 + 10 });
  });

  it("counts hourly gas in the hour its reading closes, even when telegrams bring it minutes later", () => {
    const t0 = Date.parse('2025-01-10T08:00:00Z');
    const c = { t1: 1000, t2: 0, e1: 0, e2: 0 };
    const samples: HistorySample[] = [];
    // DSMR 4: the reading stamped on the hour appears from 5 minutes past.
    for (let t = t0; t <= t0 + 3 * 3600_000; t += 60_000) {
      const stamp = Math.floor((t - 300_000) / 3600_000) * 3600_000;
      samples.push(sampleAt(t, c, { time: stamp, value: 100 + (stamp - t0) / 3600_000 }));
    }
    const hours = run(samples);
    const gas = (h: HistoryRow): number => h.devices['gas:1:G1']?.milli ?? 0;
    expect(hours.map((h) => [new Date(h.start).toISOString(), gas(h)])).toEqual([
      ['2025-01-10T07:00:00.000Z', 1000],
      ['2025-01-10T08:00:00.000Z', 1000],
      ['2025-01-10T09:00:00.000Z', 1000],
      ['2025-01-10T10:00:00.000Z', 0],
    ]);
  });

  it('skips a reading that is not newer than the last (the same telegram twice)', () => {
    const t0 = Date.parse('2025-01-10T08:00:00Z');
    const c = { t1: 1000, t2: 0, e1: 0, e2: 0 };
    const a = sampleAt(t0 + 10_000, { ...c, t1: 1005 });
    const aggregator = new Aggregator(TZ);
    for (const s of [sampleAt(t0 + 1, c), a, a, sampleAt(t0 + 5_000, c)]) aggregator.add(s);
    const [hour] = aggregator.finishAll();
    expect(hour).toMatchObject({ telegrams: 2, importT1Wh: 5 });
    expect(aggregator.skipped).toBe(2);
  });
});
