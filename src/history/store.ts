import type { Queue } from '../queue/queue.js';
import type { AggregatorState } from './aggregate.js';
import { dayStart, nextDayStart } from './buckets.js';
import { emptyRow, mergeInto, poorer, type DeviceUse, type HistoryRow, type Phases } from './row.js';
import type { DeviceKind } from './sample.js';

/**
 * The history's part of the queue's LevelDB (a sublevel `history`, so the queue's retention never touches it):
 *
 *   h/<start ms, 15 digits>   an hour row (final: it ended more than LATE_MS before the latest reading)
 *   d/<start ms, 15 digits>   a day row: the merge of the stored hours of that day
 *   state                     StoredState: where the history stopped, and the hours still open
 *
 * Rows are stored as arrays (positions, not names: see the README for the size of a year). A crash between writes
 * leaves a state older than the rows; the queue's records after it are aggregated again into the same rows.
 */
export type HistoryDb = Awaited<ReturnType<Queue['sublevel']>>;
export type Resolution = 'hour' | 'day';

export const STATE_VERSION = 1;

export interface StoredState {
  version: number;
  timeZone: string;
  /** The last queue seq the rows include. */
  lastSeq: number;
  /** Set while a rebuild replaces rows: a rebuild cut short is done again. */
  rebuilding?: boolean;
  rebuildFrom?: number;
  aggregator: AggregatorState;
}

const PREFIX: Record<Resolution, string> = { hour: 'h/', day: 'd/' };
const STATE_KEY = 'state';

export function rowKey(resolution: Resolution, start: number): string {
  return `${PREFIX[resolution]}${String(start).padStart(15, '0')}`;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const phases = (p: Phases): Array<number | null> => [...p];

/** Compact form: positions instead of names. */
export function encodeRow(row: HistoryRow): unknown[] {
  const devices = Object.entries(row.devices).map(([key, d]) => [key, d.milli, d.gapMilli, d.readings, d.resets]);
  return [
    row.start,
    row.end - row.start,
    row.telegrams,
    row.importT1Wh,
    row.importT2Wh,
    row.exportT1Wh,
    row.exportT2Wh,
    row.gaps,
    r3(row.gapSeconds),
    row.gapImportWh,
    row.gapExportWh,
    row.resets,
    row.powerSamples,
    r3(row.powerImportSum),
    r3(row.powerExportSum),
    row.powerImportMax,
    row.powerExportMax,
    phases(row.currentMax),
    phases(row.voltageMin),
    phases(row.voltageMax),
    devices,
    row.firstReadings,
  ];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const maybe = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const phasesOf = (v: unknown): Phases => {
  const a = Array.isArray(v) ? (v as unknown[]) : [];
  return [maybe(a[0]), maybe(a[1]), maybe(a[2])];
};

/** `gas:1:G0051...` -> kind, channel, meter (the id may itself hold colons). */
export function parseDeviceKey(key: string): Pick<DeviceUse, 'kind' | 'channel' | 'meter'> {
  const [kind = 'mbus', channel = '?', ...rest] = key.split(':');
  const meter = rest.join(':');
  return { kind: kind as DeviceKind, channel, meter: meter === '' ? undefined : meter };
}

export function decodeRow(value: unknown): HistoryRow {
  const a = Array.isArray(value) ? (value as unknown[]) : [];
  const start = num(a[0]);
  const devices: Record<string, DeviceUse> = {};
  for (const entry of Array.isArray(a[20]) ? (a[20] as unknown[][]) : []) {
    const key = String(entry[0]);
    devices[key] = { ...parseDeviceKey(key), milli: num(entry[1]), gapMilli: num(entry[2]), readings: num(entry[3]), resets: num(entry[4]) };
  }
  return {
    start,
    end: start + num(a[1]),
    telegrams: num(a[2]),
    importT1Wh: num(a[3]),
    importT2Wh: num(a[4]),
    exportT1Wh: num(a[5]),
    exportT2Wh: num(a[6]),
    gaps: num(a[7]),
    gapSeconds: num(a[8]),
    gapImportWh: num(a[9]),
    gapExportWh: num(a[10]),
    resets: num(a[11]),
    firstReadings: num(a[21]),
    powerSamples: num(a[12]),
    powerImportSum: num(a[13]),
    powerExportSum: num(a[14]),
    powerImportMax: maybe(a[15]),
    powerExportMax: maybe(a[16]),
    currentMax: phasesOf(a[17]),
    voltageMin: phasesOf(a[18]),
    voltageMax: phasesOf(a[19]),
    devices,
  };
}

type Op = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

/** Reads and writes the history sublevel of a queue; asks the queue again when its database was reopened. */
export class HistoryStore {
  private readonly queue: Pick<Queue, 'sublevel'>;
  readonly timeZone: string;
  private db: HistoryDb | undefined;

  constructor(queue: Pick<Queue, 'sublevel'>, timeZone: string) {
    this.queue = queue;
    this.timeZone = timeZone;
  }

  private async open(): Promise<HistoryDb> {
    if (this.db === undefined || this.db.status !== 'open') this.db = await this.queue.sublevel('history');
    return this.db;
  }

  async readState(): Promise<StoredState | undefined> {
    const value = await (await this.open()).get(STATE_KEY);
    const state = value as Partial<StoredState> | undefined;
    if (state === undefined || typeof state !== 'object' || typeof state.lastSeq !== 'number' || typeof state.aggregator !== 'object') return undefined;
    return state as StoredState;
  }

  /**
   * Stores final hours, then the days they belong to (merged again from their stored hours) with the state.
   * `keepRicher` (a rebuild): an hour already stored that the new one is poorer than is kept (see `poorer`): the
   * queue no longer holds what it was made of. `remove`: hours to delete (a rebuild's hours that are open again).
   * Not fsynced: the queue can rebuild it.
   */
  async write(hours: readonly HistoryRow[], state: StoredState | undefined, options: { keepRicher?: boolean; remove?: readonly number[] } = {}): Promise<void> {
    const db = await this.open();
    let rows = hours;
    if (options.keepRicher === true && rows.length > 0) {
      const existing = await db.getMany(rows.map((row) => rowKey('hour', row.start)));
      rows = rows.filter((row, i) => existing[i] === undefined || !poorer(row, decodeRow(existing[i])));
    }
    const ops: Op[] = rows.map((row) => ({ type: 'put', key: rowKey('hour', row.start), value: encodeRow(row) }));
    for (const start of options.remove ?? []) ops.push({ type: 'del', key: rowKey('hour', start) });
    if (ops.length > 0) await db.batch(ops);
    const days = new Set([...hours.map((row) => row.start), ...(options.remove ?? [])].map((start) => dayStart(start, this.timeZone)));
    const dayOps: Op[] = [];
    for (const start of [...days].sort((x, y) => x - y)) {
      const end = nextDayStart(start, this.timeZone);
      const dayHours = await this.rows('hour', start, end);
      if (dayHours.length === 0) dayOps.push({ type: 'del', key: rowKey('day', start) });
      else dayOps.push({ type: 'put', key: rowKey('day', start), value: encodeRow(dayHours.reduce(mergeInto, emptyRow(start, end))) });
    }
    if (state !== undefined) dayOps.push({ type: 'put', key: STATE_KEY, value: state });
    if (dayOps.length > 0) await db.batch(dayOps);
  }

  /** Day rows merged again from the stored hours, all of them (after a change of time zone). */
  async redoDays(): Promise<void> {
    const db = await this.open();
    const stale = await db.keys({ gte: PREFIX.day, lt: `${PREFIX.day}\xff` }).all();
    if (stale.length > 0) await db.batch(stale.map((key) => ({ type: 'del' as const, key })));
    const ops: Op[] = [];
    let day: HistoryRow | undefined;
    for await (const value of db.values({ gte: PREFIX.hour, lt: `${PREFIX.hour}\xff` })) {
      const hour = decodeRow(value);
      if (day === undefined || hour.start >= day.end) {
        if (day !== undefined) ops.push({ type: 'put', key: rowKey('day', day.start), value: encodeRow(day) });
        const start = dayStart(hour.start, this.timeZone);
        day = emptyRow(start, nextDayStart(start, this.timeZone));
      }
      mergeInto(day, hour);
    }
    if (day !== undefined) ops.push({ type: 'put', key: rowKey('day', day.start), value: encodeRow(day) });
    if (ops.length > 0) await db.batch(ops);
  }

  /** Rows with from <= start < to, oldest first. */
  async rows(resolution: Resolution, from: number, to: number, limit = -1): Promise<HistoryRow[]> {
    const db = await this.open();
    const values = await db.values({ gte: rowKey(resolution, Math.max(0, from)), lt: rowKey(resolution, Math.max(0, to)), limit }).all();
    return values.map(decodeRow);
  }

  /** Removes rows that started before `before` (history.maxAgeDays); returns how many. */
  async deleteBefore(resolution: Resolution, before: number): Promise<number> {
    const db = await this.open();
    const keys = await db.keys({ gte: PREFIX[resolution], lt: rowKey(resolution, Math.max(0, before)) }).all();
    if (keys.length > 0) await db.batch(keys.map((key) => ({ type: 'del' as const, key })));
    return keys.length;
  }

  async count(resolution: Resolution): Promise<number> {
    const db = await this.open();
    return (await db.keys({ gte: PREFIX[resolution], lt: `${PREFIX[resolution]}\xff` }).all()).length;
  }
}
