import type { DeviceKind } from './sample.js';

/** Use of one M-Bus device in a row, in thousandths of its unit (dm3 for m3): integers, so sums are exact. */
export interface DeviceUse {
  kind: DeviceKind;
  channel: string;
  meter: string | undefined;
  milli: number;
  /** Counted across a gap ending in this row (not in `milli`). */
  gapMilli: number;
  readings: number;
  resets: number;
}

export type Phases = [number | null, number | null, number | null];

/**
 * One hour or day (months and years are merged days). Energy in Wh, integers, from counter differences: a meter
 * counts whole Wh, so sums are exact and a day is exactly the sum of its hours.
 */
export interface HistoryRow {
  /** Epoch ms; the row covers readings in (start, end]. */
  start: number;
  end: number;
  /** Telegrams behind the row: fewer than the interval allows means a gap. */
  telegrams: number;
  importT1Wh: number;
  importT2Wh: number;
  exportT1Wh: number;
  exportT2Wh: number;
  /** Energy counted over gaps (logger off) that ended in this row: not spread over the missing hours, not above. */
  gaps: number;
  gapSeconds: number;
  gapImportWh: number;
  gapExportWh: number;
  /** Counters that went backwards or a different meter: counted as no use, and marked here. */
  resets: number;
  /** Readings with no earlier one to take a difference from (the very first): their interval is unknown. */
  firstReadings: number;
  powerSamples: number;
  powerImportSum: number;
  powerExportSum: number;
  powerImportMax: number | null;
  powerExportMax: number | null;
  currentMax: Phases;
  voltageMin: Phases;
  voltageMax: Phases;
  devices: Record<string, DeviceUse>;
}

export function emptyRow(start: number, end: number): HistoryRow {
  return {
    start,
    end,
    telegrams: 0,
    importT1Wh: 0,
    importT2Wh: 0,
    exportT1Wh: 0,
    exportT2Wh: 0,
    gaps: 0,
    gapSeconds: 0,
    gapImportWh: 0,
    gapExportWh: 0,
    resets: 0,
    firstReadings: 0,
    powerSamples: 0,
    powerImportSum: 0,
    powerExportSum: 0,
    powerImportMax: null,
    powerExportMax: null,
    currentMax: [null, null, null],
    voltageMin: [null, null, null],
    voltageMax: [null, null, null],
    devices: {},
  };
}

export function max(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

export function min(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function phases(a: Phases, b: Phases, pick: (x: number | null, y: number | null) => number | null): Phases {
  return [pick(a[0], b[0]), pick(a[1], b[1]), pick(a[2], b[2])];
}

export function deviceUse(into: HistoryRow, key: string, from: Pick<DeviceUse, 'kind' | 'channel' | 'meter'>): DeviceUse {
  let use = into.devices[key];
  if (use === undefined) {
    use = { kind: from.kind, channel: from.channel, meter: from.meter, milli: 0, gapMilli: 0, readings: 0, resets: 0 };
    into.devices[key] = use;
  }
  return use;
}

/** Adds `b` into `into` (a day from its hours, a month from its days). */
export function mergeInto(into: HistoryRow, b: HistoryRow): HistoryRow {
  into.start = Math.min(into.start, b.start);
  into.end = Math.max(into.end, b.end);
  into.telegrams += b.telegrams;
  into.importT1Wh += b.importT1Wh;
  into.importT2Wh += b.importT2Wh;
  into.exportT1Wh += b.exportT1Wh;
  into.exportT2Wh += b.exportT2Wh;
  into.gaps += b.gaps;
  into.gapSeconds += b.gapSeconds;
  into.gapImportWh += b.gapImportWh;
  into.gapExportWh += b.gapExportWh;
  into.resets += b.resets;
  into.firstReadings += b.firstReadings;
  into.powerSamples += b.powerSamples;
  into.powerImportSum += b.powerImportSum;
  into.powerExportSum += b.powerExportSum;
  into.powerImportMax = max(into.powerImportMax, b.powerImportMax);
  into.powerExportMax = max(into.powerExportMax, b.powerExportMax);
  into.currentMax = phases(into.currentMax, b.currentMax, max);
  into.voltageMin = phases(into.voltageMin, b.voltageMin, min);
  into.voltageMax = phases(into.voltageMax, b.voltageMax, max);
  for (const [key, use] of Object.entries(b.devices)) {
    const target = deviceUse(into, key, use);
    target.milli += use.milli;
    target.gapMilli += use.gapMilli;
    target.readings += use.readings;
    target.resets += use.resets;
  }
  return into;
}

export function cloneRow(row: HistoryRow): HistoryRow {
  return mergeInto(emptyRow(row.start, row.end), row);
}

/** Rows merged per period (`periodOf` gives a row's period start and end), in order. */
export function rollUp(rows: readonly HistoryRow[], periodOf: (start: number) => { start: number; end: number }): HistoryRow[] {
  const out: HistoryRow[] = [];
  let current: HistoryRow | undefined;
  for (const row of rows) {
    const period = periodOf(row.start);
    if (current === undefined || current.start !== period.start) {
      current = emptyRow(period.start, period.end);
      out.push(current);
    }
    mergeInto(current, row);
    current.start = period.start;
    current.end = period.end;
  }
  return out;
}

/**
 * Which of two rows of the same hour holds more of what happened: more telegrams, else fewer intervals it could not
 * count (gaps, resets, readings without a baseline). A rebuild never replaces a row by a poorer one.
 */
export function poorer(candidate: HistoryRow, existing: HistoryRow): boolean {
  if (candidate.telegrams !== existing.telegrams) return candidate.telegrams < existing.telegrams;
  const unknown = (r: HistoryRow): number => r.gaps + r.resets + r.firstReadings;
  return unknown(candidate) > unknown(existing);
}
