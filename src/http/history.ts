import { localMidnight } from '../history/buckets.js';
import type { MeterReading, PhaseReading } from './reading.js';

/** One point of the live power graph. */
export interface PowerPoint {
  /** ms since the epoch (the meter's time). */
  t: number;
  importKw: number | null;
  exportKw: number | null;
  /** Per phase, when the meter sends it (the page shows the latest). */
  phases?: PhaseReading[];
}

/** Energy used and returned in a period, from the difference of two meter readings. */
export interface PeriodTotals {
  /** Time of the baseline reading (the last one at or before the period start, else the first after it); null without data. */
  from: string | null;
  /** Time of the latest reading. */
  to: string | null;
  importT1: number | null;
  importT2: number | null;
  exportT1: number | null;
  exportT2: number | null;
  gasM3: number | null;
}

export interface EnergyTotals {
  day: PeriodTotals;
  month: PeriodTotals;
}

/**
 * What the status page reads from the local history. `queueHistory` implements it over the queue; tests and
 * `readingsHistory` over a list of readings.
 */
export interface HistoryProvider {
  /** Power readings at or after `sinceMs`, oldest first. */
  powerSeries(sinceMs: number): Promise<PowerPoint[]>;
  energyTotals(dayStartMs: number, monthStartMs: number): Promise<EnergyTotals>;
}

export function powerPoint(reading: MeterReading): PowerPoint {
  return { t: reading.t, importKw: reading.powerImportKw, exportKw: reading.powerExportKw, phases: reading.phases };
}

/** Meter resolution is 1 Wh and 1 dm3: rounding to 3 decimals removes floating-point noise only. */
function delta(to: number | null, from: number | null): number | null {
  return to === null || from === null ? null : Math.round((to - from) * 1000) / 1000;
}

export function periodTotals(baseline: MeterReading | undefined, latest: MeterReading | undefined): PeriodTotals {
  if (baseline === undefined || latest === undefined) {
    return { from: null, to: null, importT1: null, importT2: null, exportT1: null, exportT2: null, gasM3: null };
  }
  return {
    from: new Date(baseline.t).toISOString(),
    to: new Date(latest.t).toISOString(),
    importT1: delta(latest.importT1, baseline.importT1),
    importT2: delta(latest.importT2, baseline.importT2),
    exportT1: delta(latest.exportT1, baseline.exportT1),
    exportT2: delta(latest.exportT2, baseline.exportT2),
    gasM3: delta(latest.gasM3, baseline.gasM3),
  };
}

/** The baseline of a period: the last reading at or before its start, else the first one in it. */
export function baselineIn(readings: readonly MeterReading[], startMs: number): MeterReading | undefined {
  let before: MeterReading | undefined;
  for (const r of readings) {
    if (r.t <= startMs) before = r;
    else return before ?? r;
  }
  return before;
}

/** A HistoryProvider over readings held in memory (sorted by time here). */
export function readingsHistory(list: readonly MeterReading[]): HistoryProvider {
  const readings = [...list].sort((a, b) => a.t - b.t);
  return {
    powerSeries: (sinceMs) => Promise.resolve(readings.filter((r) => r.t >= sinceMs).map(powerPoint)),
    energyTotals: (dayStartMs, monthStartMs) => {
      const latest = readings[readings.length - 1];
      return Promise.resolve({
        day: periodTotals(baselineIn(readings, dayStartMs), latest),
        month: periodTotals(baselineIn(readings, monthStartMs), latest),
      });
    },
  };
}

/** Start of today and of this month in the configured time zone (not the machine's). */
export function periodStarts(nowMs: number, timeZone: string): { dayStartMs: number; monthStartMs: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(new Date(nowMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const year = get('year');
  const month = get('month');
  return { dayStartMs: localMidnight(year, month, get('day'), timeZone), monthStartMs: localMidnight(year, month, 1, timeZone) };
}
