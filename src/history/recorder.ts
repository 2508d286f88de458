import type { Logger } from '../log.js';
import type { Queue } from '../queue/queue.js';
import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { Aggregator, type HistoryEvent } from './aggregate.js';
import { rebuildHistory, type RebuildResult } from './rebuild.js';
import type { HistoryRow } from './row.js';
import { queryRows, type HistorySource, type Resolution } from './query.js';
import { sampleOfRecord } from './sample.js';
import { HistoryStore, STATE_VERSION, type StoredState } from './store.js';

export interface HistoryRecorderOptions {
  queue: Pick<Queue, 'readAfter' | 'status' | 'sublevel'>;
  timeZone: string;
  /** For DSMR 2.2/3 meter times. */
  parse?: ParseOptions;
  logger: Logger;
  /** Reading only (`p1logger history` while the service is stopped): catches up in memory, writes nothing. */
  readOnly?: boolean;
  /** The open hours are stored at least this often (final hours are stored as they become final). Default 10 min. */
  persistIntervalMs?: number;
  /** Rows older than this many days are removed; undefined keeps them forever. */
  maxAgeDays?: number;
  now?: () => number;
}

const CHUNK = 1000;
const DAY_MS = 86_400_000;

/**
 * The history as the service keeps it: each stored telegram is aggregated as it comes (`stored`), final hours go
 * to the history sublevel of the queue's database, and the state says up to which seq. On start it continues from
 * that seq (reading what it missed from the queue), or rebuilds when there is no usable state. One lane: records,
 * writes and rebuilds never overlap.
 */
export class HistoryRecorder implements HistorySource {
  readonly name = 'history';
  readonly timeZone: string;
  private readonly options: HistoryRecorderOptions;
  private readonly store: HistoryStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private aggregator: Aggregator;
  private lastSeq = 0;
  /** Final hours not yet written (queries include them). */
  private unsaved: HistoryRow[] = [];
  private inbox: QueueRecord[] = [];
  private lane: Promise<void> = Promise.resolve();
  private lastPersist = 0;
  private lastRetention = 0;
  private building = false;
  private stopped = false;

  constructor(options: HistoryRecorderOptions) {
    this.options = options;
    this.timeZone = options.timeZone;
    this.store = new HistoryStore(options.queue, options.timeZone);
    this.log = options.logger.child({ component: 'history' });
    this.now = options.now ?? Date.now;
    this.aggregator = this.newAggregator();
  }

  /** Loads the state and continues from it (in the background: acquisition does not wait for a rebuild). */
  start(): void {
    void this.enqueue(() => this.load());
  }

  /** Resolves when everything handed over so far is aggregated (and, unless read-only, stored). */
  idle(): Promise<void> {
    return this.enqueue(() => Promise.resolve());
  }

  /** Loads and catches up, then resolves (for `p1logger history` without the service). */
  async open(): Promise<this> {
    this.start();
    await this.idle();
    return this;
  }

  /** A telegram durably in the queue (the service's onStored), in seq order. */
  stored(record: QueueRecord): void {
    if (this.stopped) return;
    this.inbox.push(record);
    if (this.inbox.length === 1) void this.enqueue(() => this.drain());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.enqueue(() => this.persist(true));
  }

  get rebuilding(): boolean {
    return this.building;
  }

  rows(resolution: Resolution, from: number, to: number): Promise<HistoryRow[]> {
    return queryRows(this.store, [...this.unsaved, ...this.aggregator.openHours()], resolution, from, to);
  }

  /** Builds the hours again from the queue (see rebuildHistory); the service keeps taking telegrams meanwhile. */
  rebuild(from?: number): Promise<RebuildResult> {
    return this.enqueue(() => this.runRebuild(from));
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      (error: unknown) => this.log.error({ err: error }, 'history update failed; it continues from the queue'),
    );
    return run;
  }

  private newAggregator(state?: StoredState): Aggregator {
    return new Aggregator(this.timeZone, state?.aggregator, { onEvent: (event) => this.logEvent(event) });
  }

  private logEvent(event: HistoryEvent): void {
    const at = new Date(event.time).toISOString();
    if (event.type === 'gap') this.log.info({ at, seconds: event.seconds, what: event.what }, 'history: a gap in the readings; its use is not spread over the missing hours');
    else this.log.warn({ ...event, at }, 'history: a counter went back or the meter changed; counted as no use, the hour is marked');
  }

  private async load(): Promise<void> {
    const state = await this.store.readState();
    const status = await this.options.queue.status();
    const usable = state !== undefined && state.version === STATE_VERSION && state.rebuilding !== true && state.timeZone === this.timeZone;
    if (usable) {
      this.aggregator = this.newAggregator(state);
      this.lastSeq = state.lastSeq;
      this.lastPersist = this.now();
      await this.catchUp(status.lastSeq ?? 0);
      return;
    }
    if (this.options.readOnly === true) {
      if (status.lastSeq !== null) this.log.warn('history: not built yet for this data directory; run `p1logger history rebuild` or start the service');
      return;
    }
    if (status.lastSeq === null && state === undefined) return;
    const reason = state === undefined ? 'none yet' : state.rebuilding === true ? 'a rebuild was cut short' : state.timeZone !== this.timeZone ? `built in ${state.timeZone}` : 'an older format';
    this.log.info({ reason }, 'history: building it from the queue');
    await this.runRebuild(state?.rebuilding === true ? state.rebuildFrom : undefined);
  }

  private async runRebuild(from?: number): Promise<RebuildResult> {
    if (this.options.readOnly === true) throw new Error('history opened read-only');
    this.building = true;
    try {
      await this.persist(true);
      const started = this.now();
      const result = await rebuildHistory({
        queue: this.options.queue,
        store: this.store,
        timeZone: this.timeZone,
        ...(this.options.parse ? { parse: this.options.parse } : {}),
        ...(from === undefined ? {} : { from }),
        onEvent: (event) => this.logEvent(event),
      });
      const state = await this.store.readState();
      this.aggregator = this.newAggregator(state);
      this.lastSeq = state?.lastSeq ?? result.lastSeq;
      this.lastPersist = this.now();
      this.log.info({ ...result, seconds: (this.now() - started) / 1000 }, 'history rebuilt');
      await this.catchUp(Number.MAX_SAFE_INTEGER);
      return result;
    } finally {
      this.building = false;
    }
  }

  /** Aggregates what the queue holds after lastSeq up to `until`. */
  private async catchUp(until: number): Promise<void> {
    while (this.lastSeq < until) {
      const records = await this.options.queue.readAfter(this.lastSeq, CHUNK);
      if (records.length === 0) break;
      for (const record of records) this.aggregate(record);
      await this.persist(false);
      if (records.length < CHUNK) break;
    }
  }

  private async drain(): Promise<void> {
    while (this.inbox.length > 0) {
      const batch = this.inbox;
      this.inbox = [];
      for (const record of batch) {
        if (record.seq <= this.lastSeq) continue;
        // Missed some (a rebuild or catch-up was running): the queue has them.
        if (record.seq > this.lastSeq + 1) await this.catchUp(record.seq - 1);
        if (record.seq === this.lastSeq + 1) this.aggregate(record);
      }
      await this.persist(false);
    }
  }

  private aggregate(record: QueueRecord): void {
    const sample = sampleOfRecord(record, this.options.parse);
    if (sample !== undefined) this.aggregator.add(sample);
    this.lastSeq = record.seq;
    const finished = this.aggregator.takeFinished();
    if (finished.length > 0) this.unsaved.push(...finished);
  }

  private async persist(force: boolean): Promise<void> {
    if (this.options.readOnly === true) return;
    const due = force || this.unsaved.length > 0 || this.now() - this.lastPersist >= (this.options.persistIntervalMs ?? 600_000);
    if (!due) return;
    const rows = this.unsaved.slice();
    const state: StoredState = { version: STATE_VERSION, timeZone: this.timeZone, lastSeq: this.lastSeq, aggregator: this.aggregator.state() };
    try {
      await this.store.write(rows, JSON.parse(JSON.stringify(state)) as StoredState);
      this.unsaved = this.unsaved.slice(rows.length);
      this.lastPersist = this.now();
    } catch (error) {
      // A full disk: the rows stay in memory and the queue has the telegrams; the next write tries again.
      this.log.warn({ err: error }, 'history: could not store; will try again');
      return;
    }
    await this.applyRetention();
  }

  private async applyRetention(): Promise<void> {
    const days = this.options.maxAgeDays;
    if (days === undefined || this.now() - this.lastRetention < DAY_MS) return;
    this.lastRetention = this.now();
    const before = this.now() - days * DAY_MS;
    const removed = (await this.store.deleteBefore('hour', before)) + (await this.store.deleteBefore('day', before));
    if (removed > 0) this.log.info({ removed, maxAgeDays: days }, 'history: removed old rows');
  }
}
