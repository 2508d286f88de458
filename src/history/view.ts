import type { TariffsConfig } from '../config/history-schema.js';
import { isoInZone, monthStart, nextMonthStart, nextYearStart, yearStart } from './buckets.js';
import { addCosts, costsOf, hasTariffs, type Costs } from './costs.js';
import type { HistorySource, Resolution } from './query.js';
import type { HistoryRow } from './row.js';

/** One row as the API, the page and `p1logger history` show it: kWh, m3, kW, V, A and money. */
export interface HistoryPoint {
  /** ISO 8601 with the zone's offset: `2025-03-30T00:00:00+01:00`. */
  start: string;
  end: string;
  hours: number;
  telegrams: number;
  importT1: number;
  importT2: number;
  import: number;
  exportT1: number;
  exportT2: number;
  export: number;
  /** m3 of the gas meters; null without one. */
  gas: number | null;
  water: number | null;
  /** kW: mean of the readings and highest reading. */
  powerImportAvg: number | null;
  powerImportMax: number | null;
  powerExportAvg: number | null;
  powerExportMax: number | null;
  currentMaxL1: number | null;
  currentMaxL2: number | null;
  currentMaxL3: number | null;
  voltageMinL1: number | null;
  voltageMinL2: number | null;
  voltageMinL3: number | null;
  voltageMaxL1: number | null;
  voltageMaxL2: number | null;
  voltageMaxL3: number | null;
  /** Gaps (logger off) that ended here, how long they were, and the kWh the meter counted meanwhile (not above). */
  gaps: number;
  gapSeconds: number;
  gapImport: number;
  gapExport: number;
  /** Counters that went back or a changed meter (counted as no use). */
  resets: number;
  cost: Costs | null;
  /** Each M-Bus device: its use in its own unit (m3; GJ for heat). */
  devices: Array<{ kind: string; channel: string; meter: string | null; use: number; gapUse: number; readings: number; resets: number }>;
}

export interface HistoryAnswer {
  resolution: Resolution;
  timeZone: string;
  currency: string | null;
  from: string;
  to: string;
  rows: HistoryPoint[];
}

const kwh = (wh: number): number => wh / 1000;
const r3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

function useOf(row: HistoryRow, kind: string): number | null {
  let milli: number | null = null;
  for (const d of Object.values(row.devices)) if (d.kind === kind) milli = (milli ?? 0) + d.milli;
  return milli === null ? null : milli / 1000;
}

export function pointOf(row: HistoryRow, timeZone: string, cost: Costs | null): HistoryPoint {
  const avg = (sum: number): number | null => (row.powerSamples === 0 ? null : r3(sum / row.powerSamples));
  return {
    start: isoInZone(row.start, timeZone),
    end: isoInZone(row.end, timeZone),
    hours: Math.round((row.end - row.start) / 36_000) / 100,
    telegrams: row.telegrams,
    importT1: kwh(row.importT1Wh),
    importT2: kwh(row.importT2Wh),
    import: kwh(row.importT1Wh + row.importT2Wh),
    exportT1: kwh(row.exportT1Wh),
    exportT2: kwh(row.exportT2Wh),
    export: kwh(row.exportT1Wh + row.exportT2Wh),
    gas: useOf(row, 'gas'),
    water: useOf(row, 'water'),
    powerImportAvg: avg(row.powerImportSum),
    powerImportMax: row.powerImportMax,
    powerExportAvg: avg(row.powerExportSum),
    powerExportMax: row.powerExportMax,
    currentMaxL1: row.currentMax[0],
    currentMaxL2: row.currentMax[1],
    currentMaxL3: row.currentMax[2],
    voltageMinL1: row.voltageMin[0],
    voltageMinL2: row.voltageMin[1],
    voltageMinL3: row.voltageMin[2],
    voltageMaxL1: row.voltageMax[0],
    voltageMaxL2: row.voltageMax[1],
    voltageMaxL3: row.voltageMax[2],
    gaps: row.gaps,
    gapSeconds: Math.round(row.gapSeconds),
    gapImport: kwh(row.gapImportWh),
    gapExport: kwh(row.gapExportWh),
    resets: row.resets,
    cost,
    devices: Object.values(row.devices).map((d) => ({ kind: d.kind, channel: d.channel, meter: d.meter ?? null, use: d.milli / 1000, gapUse: d.gapMilli / 1000, readings: d.readings, resets: d.resets })),
  };
}

/**
 * The rows of [from, to) at a resolution with their costs. Months and years are merged days, and cost what their
 * days cost (each day at its own prices).
 */
export async function historyAnswer(source: HistorySource, resolution: Resolution, from: number, to: number, tariffs?: TariffsConfig): Promise<HistoryAnswer> {
  const tz = source.timeZone;
  const priced = hasTariffs(tariffs) ? tariffs : undefined;
  const cost = (row: HistoryRow): Costs | null => (priced === undefined ? null : costsOf(row, useOf(row, 'gas') ?? 0, priced, tz));
  let rows: HistoryPoint[];
  if (resolution === 'hour' || resolution === 'day') {
    rows = (await source.rows(resolution, from, to)).map((row) => pointOf(row, tz, cost(row)));
  } else {
    const period = resolution === 'month' ? { start: monthStart, next: nextMonthStart } : { start: yearStart, next: nextYearStart };
    const periodOf = (start: number): { start: number; end: number } => {
      const s = period.start(start, tz);
      return { start: s, end: period.next(s, tz) };
    };
    const months = await source.rows(resolution, from, to);
    const first = months[0];
    const days = first === undefined ? [] : await source.rows('day', first.start, months[months.length - 1]!.end);
    const costs = new Map<number, Costs>();
    for (const day of days) {
      const c = cost(day);
      if (c === null) continue;
      const key = periodOf(day.start).start;
      const sum = costs.get(key);
      costs.set(key, sum === undefined ? c : addCosts(sum, c));
    }
    rows = months.map((row) => pointOf(row, tz, costs.get(row.start) ?? null));
  }
  return { resolution, timeZone: tz, currency: priced?.currency ?? null, from: isoInZone(from, tz), to: isoInZone(to, tz), rows };
}
