import { HOUR_MS, hourOfReading } from './buckets.js';
import { cloneRow, deviceUse, emptyRow, max, min, type HistoryRow } from './row.js';
import type { HistorySample } from './sample.js';

/** More than this between two telegrams is a gap (logger off): 30 times the slowest DSMR interval (10 s). */
export const GAP_MS = 5 * 60_000;
/** M-Bus devices report hourly at the slowest (DSMR 2.2-4 gas): more than an hour and a bit is a gap. */
export const DEVICE_GAP_MS = 65 * 60_000;
/**
 * An hour stays open this long after its end: a DSMR 4 gas reading stamped 20:00 arrives in telegrams after
 * 20:00 and counts for 19:00-20:00. A reading stamped in an hour already closed counts in the telegram's hour.
 */
export const LATE_MS = 70 * 60_000;

export type HistoryEvent =
  | { type: 'counter-reset'; time: number; what: string; from: number; to: number }
  | { type: 'meter-changed'; time: number; from: string; to: string }
  | { type: 'gap'; time: number; seconds: number; what: string };

/** The last reading's counters: the baseline of the next difference. */
type Counters = Pick<HistorySample, 'time' | 'meter' | 'importT1' | 'importT2' | 'exportT1' | 'exportT2'>;

/** Everything needed to continue where the aggregator stopped: stored with the rows (JSON). */
export interface AggregatorState {
  last: Counters | null;
  devices: Record<string, { time: number; value: number }>;
  /** Hour rows not final yet, oldest first. */
  open: HistoryRow[];
}

export function initialState(): AggregatorState {
  return { last: null, devices: {}, open: [] };
}

const COUNTERS = ['importT1', 'importT2', 'exportT1', 'exportT2'] as const;

/** Thousandths (Wh of kWh, dm3 of m3): meters count in these, so integer deltas are exact. */
function milliDelta(to: number, from: number): number {
  return Math.round((to - from) * 1000);
}

export interface AggregatorOptions {
  /** Readings at or before this instant only set the baselines (a rebuild from a time): no row starts before it. */
  floor?: number;
  onEvent?: (event: HistoryEvent) => void;
}

/**
 * Turns samples, in time order, into hour rows in `timeZone` (days, months and years are merged hours). Pure: no
 * I/O, no clock. Energy and M-Bus use come from counter differences between consecutive readings, credited to the
 * hour the later reading closes; a reading not newer than the last (a duplicate, an import of what is there) is
 * skipped.
 */
export class Aggregator {
  readonly timeZone: string;
  private readonly s: AggregatorState;
  private readonly onEvent: (event: HistoryEvent) => void;
  private readonly floor: number;
  private finished: HistoryRow[] = [];
  /** Samples not newer than the last one, and samples at or before the floor (baselines only). */
  skipped = 0;
  baselines = 0;

  constructor(timeZone: string, state: AggregatorState = initialState(), options: AggregatorOptions = {}) {
    this.timeZone = timeZone;
    this.s = state;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.floor = options.floor ?? Number.NEGATIVE_INFINITY;
  }

  get lastTime(): number | null {
    return this.s.last?.time ?? null;
  }

  add(sample: HistorySample): void {
    const t = sample.time;
    const last = this.s.last;
    if (last !== null && t <= last.time) {
      this.skipped++;
      return;
    }
    if (t <= this.floor) {
      this.baselines++;
      this.setBaselines(sample);
      return;
    }
    const row = this.hourRow(hourOfReading(t, this.timeZone));
    row.telegrams++;
    if (last !== null) this.addEnergy(row, last, sample);
    else row.firstReadings++;
    this.setCounters(sample);
    if (sample.powerImport !== null || sample.powerExport !== null) {
      row.powerSamples++;
      row.powerImportSum += sample.powerImport ?? 0;
      row.powerExportSum += sample.powerExport ?? 0;
      row.powerImportMax = max(row.powerImportMax, sample.powerImport);
      row.powerExportMax = max(row.powerExportMax, sample.powerExport);
    }
    for (let p = 0; p < 3; p++) {
      row.currentMax[p] = max(row.currentMax[p]!, sample.current[p]!);
      row.voltageMin[p] = min(row.voltageMin[p]!, sample.voltage[p]!);
      row.voltageMax[p] = max(row.voltageMax[p]!, sample.voltage[p]!);
    }
    this.addDevices(row, sample);
    this.finalizeBefore(t);
  }

  /** Hour rows that became final since the last call (those that ended more than LATE_MS before the latest reading). */
  takeFinished(): HistoryRow[] {
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** Hours not final yet (copies), oldest first. */
  openHours(): HistoryRow[] {
    return this.s.open.map(cloneRow);
  }

  /** Makes every row final (tests; the service keeps open rows in its state instead). */
  finishAll(): HistoryRow[] {
    this.finalizeBefore(Number.POSITIVE_INFINITY);
    return this.takeFinished();
  }

  /** The state to store (JSON-safe; shared, not copied: store it before the next add). */
  state(): AggregatorState {
    return this.s;
  }

  private setCounters(sample: HistorySample): void {
    const last = this.s.last;
    this.s.last = {
      time: sample.time,
      meter: sample.meter ?? last?.meter,
      importT1: sample.importT1 ?? last?.importT1 ?? null,
      importT2: sample.importT2 ?? last?.importT2 ?? null,
      exportT1: sample.exportT1 ?? last?.exportT1 ?? null,
      exportT2: sample.exportT2 ?? last?.exportT2 ?? null,
    };
  }

  private setBaselines(sample: HistorySample): void {
    this.setCounters(sample);
    for (const reading of sample.devices) {
      const previous = this.s.devices[reading.key];
      if (previous === undefined || reading.time > previous.time) this.s.devices[reading.key] = { time: reading.time, value: reading.value };
    }
  }

  private addEnergy(row: HistoryRow, last: Counters, sample: HistorySample): void {
    const deltas = COUNTERS.map((k) => {
      const to = sample[k];
      const from = last[k];
      return to === null || from === null ? 0 : milliDelta(to, from);
    });
    const changed = sample.meter !== undefined && last.meter !== undefined && sample.meter !== last.meter;
    const backwards = deltas.findIndex((d) => d < 0);
    if (changed || backwards !== -1) {
      // A meter swap or a counter that went back is no use: the new reading is the baseline from here on.
      row.resets++;
      if (changed) this.onEvent({ type: 'meter-changed', time: sample.time, from: last.meter!, to: sample.meter! });
      else this.onEvent({ type: 'counter-reset', time: sample.time, what: COUNTERS[backwards]!, from: last[COUNTERS[backwards]!]!, to: sample[COUNTERS[backwards]!]! });
      return;
    }
    const [importT1, importT2, exportT1, exportT2] = deltas as [number, number, number, number];
    const seconds = (sample.time - last.time) / 1000;
    if (seconds * 1000 > GAP_MS) {
      row.gaps++;
      row.gapSeconds += seconds;
      row.gapImportWh += importT1 + importT2;
      row.gapExportWh += exportT1 + exportT2;
      this.onEvent({ type: 'gap', time: sample.time, seconds, what: 'electricity' });
      return;
    }
    row.importT1Wh += importT1;
    row.importT2Wh += importT2;
    row.exportT1Wh += exportT1;
    row.exportT2Wh += exportT2;
  }

  private addDevices(telegramRow: HistoryRow, sample: HistorySample): void {
    for (const reading of sample.devices) {
      const previous = this.s.devices[reading.key];
      if (previous !== undefined && reading.time <= previous.time) continue;
      this.s.devices[reading.key] = { time: reading.time, value: reading.value };
      // The first reading is the baseline; one stamped before the floor closes use in hours a rebuild keeps.
      if (previous === undefined || reading.time <= this.floor) continue;
      // The hour the device's own reading closes, while that hour is open; else the telegram's.
      const hour = hourOfReading(reading.time, this.timeZone);
      const open = reading.time <= sample.time && hour + HOUR_MS + LATE_MS >= sample.time;
      const row = open ? this.hourRow(hour) : telegramRow;
      const use = deviceUse(row, reading.key, reading);
      use.readings++;
      const delta = milliDelta(reading.value, previous.value);
      if (delta < 0) {
        use.resets++;
        row.resets++;
        this.onEvent({ type: 'counter-reset', time: reading.time, what: reading.key, from: previous.value, to: reading.value });
      } else if (reading.time - previous.time > DEVICE_GAP_MS) {
        use.gapMilli += delta;
        this.onEvent({ type: 'gap', time: reading.time, seconds: (reading.time - previous.time) / 1000, what: reading.key });
      } else {
        use.milli += delta;
      }
    }
  }

  /** The open row of the hour starting at `start`, created in order when missing. */
  private hourRow(start: number): HistoryRow {
    const open = this.s.open;
    const newest = open[open.length - 1];
    if (newest !== undefined && newest.start === start) return newest;
    let i = open.length;
    while (i > 0 && open[i - 1]!.start > start) i--;
    if (i > 0 && open[i - 1]!.start === start) return open[i - 1]!;
    const row = emptyRow(start, start + HOUR_MS);
    open.splice(i, 0, row);
    return row;
  }

  private finalizeBefore(t: number): void {
    const open = this.s.open;
    while (open.length > 0 && open[0]!.end + LATE_MS < t) this.finished.push(open.shift()!);
  }
}
