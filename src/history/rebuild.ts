import type { QueueRecord, TelegramLog } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { Aggregator, initialState, type HistoryEvent } from './aggregate.js';
import { HOUR_MS, hourStart } from './buckets.js';
import type { HistoryRow } from './row.js';
import { sampleOfRecord } from './sample.js';
import { STATE_VERSION, type HistoryStore, type StoredState } from './store.js';

const CHUNK = 2000;
/** Readings this long before `from` give its first hours their baselines (hourly gas included). */
export const BASELINE_MS = 3 * HOUR_MS;
/** Receive times may step back this much (a clock correction) within one run of records. */
const RUN_TOLERANCE_MS = 5 * 60_000;
/** Final hours written together. */
const WRITE_ROWS = 500;

/** Records in seq order whose receive times do not go back: the live log is one; each import adds one. */
interface Run {
  first: number;
  last: number;
  startMs: number;
  endMs: number;
}

export interface RebuildOptions {
  queue: Pick<TelegramLog, 'readAfter' | 'status'>;
  store: HistoryStore;
  timeZone: string;
  parse?: ParseOptions;
  /** Rebuild the hours from this instant on (rounded down to the hour); default: all the queue holds. */
  from?: number;
  onEvent?: (event: HistoryEvent) => void;
}

export interface RebuildResult {
  telegrams: number;
  /** Hours written (an hour kept because it was made from more telegrams is not counted). */
  hours: number;
  /** Records read in time order, including the baseline before `from`. */
  records: number;
  runs: number;
  lastSeq: number;
  /** Time of the first and last reading used. */
  firstTime: number | null;
  lastTime: number | null;
}

/** One pass over the log to find its runs (the receive time is in each record: no parsing). */
async function planRuns(queue: RebuildOptions['queue'], firstSeq: number, lastSeq: number): Promise<Run[]> {
  const runs: Run[] = [];
  let current: Run | undefined;
  for (let after = firstSeq - 1; after < lastSeq; ) {
    const records = await queue.readAfter(after, Math.min(CHUNK, lastSeq - after));
    if (records.length === 0) break;
    for (const record of records) {
      const t = Date.parse(record.receivedAt);
      if (current !== undefined && t >= current.endMs - RUN_TOLERANCE_MS && record.seq === current.last + 1) {
        current.last = record.seq;
        current.endMs = Math.max(current.endMs, t);
      } else {
        current = { first: record.seq, last: record.seq, startMs: t, endMs: t };
        runs.push(current);
      }
    }
    after = records[records.length - 1]!.seq;
  }
  return runs;
}

/** Reads one run in chunks. */
class RunReader {
  private buffer: QueueRecord[] = [];
  private index = 0;
  private after: number;
  head: QueueRecord | undefined;
  headTime = Number.POSITIVE_INFINITY;

  constructor(
    private readonly queue: RebuildOptions['queue'],
    private readonly run: Run,
  ) {
    this.after = run.first - 1;
  }

  async next(): Promise<void> {
    if (this.index >= this.buffer.length) {
      this.buffer = this.after >= this.run.last ? [] : await this.queue.readAfter(this.after, Math.min(CHUNK, this.run.last - this.after));
      this.index = 0;
      const last = this.buffer[this.buffer.length - 1];
      if (last !== undefined) this.after = last.seq;
    }
    this.head = this.buffer[this.index++];
    this.headTime = this.head === undefined ? Number.POSITIVE_INFINITY : Date.parse(this.head.receivedAt);
  }
}

/**
 * Builds the hours again from the stored telegrams, in time order (runs merged by receive time: an import of an
 * older capture comes after the live records in seq order). An hour is replaced unless the stored one was made from
 * more telegrams (the queue's retention removed them); hours the queue holds nothing for are kept. Days are merged
 * again from their hours. The state afterwards continues from the newest record.
 */
export async function rebuildHistory(options: RebuildOptions): Promise<RebuildResult> {
  const { queue, store, timeZone } = options;
  const status = await queue.status();
  const result: RebuildResult = { telegrams: 0, hours: 0, records: 0, runs: 0, lastSeq: status.lastSeq ?? 0, firstTime: null, lastTime: null };
  if (status.firstSeq === null || status.lastSeq === null) return result;
  const floor = options.from === undefined ? undefined : hourStart(options.from, timeZone);
  const skipBefore = floor === undefined ? Number.NEGATIVE_INFINITY : floor - BASELINE_MS;
  const runs = (await planRuns(queue, status.firstSeq, status.lastSeq)).filter((run) => run.endMs >= skipBefore);
  result.runs = runs.length;
  if (runs.length === 0) return result;

  const previous = await store.readState();
  const marked: StoredState = {
    version: STATE_VERSION,
    timeZone,
    lastSeq: previous?.lastSeq ?? 0,
    rebuilding: true,
    ...(options.from === undefined ? {} : { rebuildFrom: options.from }),
    aggregator: { ...(previous?.aggregator ?? initialState()), open: [] },
  };
  // The hours the previous state had open are kept like any stored hour (unless rebuilt from as many telegrams).
  await store.write(previous?.aggregator.open ?? [], marked, { keepRicher: true });
  if (previous !== undefined && previous.timeZone !== timeZone) await store.redoDays();

  const aggregator = new Aggregator(timeZone, initialState(), {
    ...(floor === undefined ? {} : { floor }),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  let pending: HistoryRow[] = [];
  const flush = async (): Promise<void> => {
    const rows = pending;
    pending = [];
    result.hours += rows.length;
    await store.write(rows, undefined, { keepRicher: true });
  };
  const readers = runs.map((run) => new RunReader(queue, run));
  for (const reader of readers) await reader.next();
  for (;;) {
    let reader = readers[0]!;
    for (const other of readers) if (other.headTime < reader.headTime) reader = other;
    const record = reader.head;
    if (record === undefined) break;
    if (reader.headTime >= skipBefore) {
      result.records++;
      const sample = sampleOfRecord(record, options.parse);
      if (sample !== undefined) {
        aggregator.add(sample);
        result.firstTime ??= sample.time;
        const finished = aggregator.takeFinished();
        if (finished.length > 0) {
          pending.push(...finished);
          if (pending.length >= WRITE_ROWS) await flush();
        }
      }
    }
    await reader.next();
  }
  await flush();
  const state = aggregator.state();
  result.lastTime = state.last?.time ?? null;
  result.telegrams = result.records - aggregator.skipped - aggregator.baselines;
  // Hours open again must not also be counted from the store.
  await store.write([], { version: STATE_VERSION, timeZone, lastSeq: status.lastSeq, aggregator: state }, { remove: state.open.map((row) => row.start) });
  return result;
}
