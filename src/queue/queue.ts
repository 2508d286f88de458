import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { P1Error } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { directorySize, ensureReserve, freeBytes, isDiskFull, releaseReserve } from './disk.js';
import * as keys from './keys.js';
import { notWritable, openError } from './open-error.js';
import { droppedBySink, recordsForBytes } from './retention.js';
import type { DeadLetter, QueueRecord, QueueStatus, SinkCursorStatus, TelegramLog } from './types.js';

export type Durability = 'sync' | 'grouped';

export interface QueueOptions {
  /**
   * 'sync' (default): every append is fsynced before it resolves (appends arriving during a write share the next one).
   * 'grouped': appends wait and are written together, fsynced once every `groupIntervalMs`: fewer writes to an SD
   * card, but an append resolves up to that much later, and a power cut loses what had not been written yet.
   */
  durability?: Durability;
  groupIntervalMs?: number;
  /** Records received longer ago than this are removed. Default 30 days; 0 keeps them forever. */
  maxAgeMs?: number;
  /** The LevelDB files may use this many bytes; the oldest records go first. Default 1 GiB; 0 for no cap. */
  maxBytes?: number;
  /** When the filesystem has less free space than this, the oldest records go (a tenth per pass at most). Default 64 MiB. */
  minFreeBytes?: number;
  /** Size of the reserve file given back when the disk is full, so the database can reopen. Default 8 MiB. */
  reserveBytes?: number;
  /** How often retention runs while the queue is open. Default 60 s; 0: only when enforceRetention() is called. */
  retentionIntervalMs?: number;
  /** LevelDB's memtable / write-ahead-log size (LevelDB's default 4 MiB). */
  writeBufferSize?: number;
  /**
   * For status and export: the data directory must exist; no retention, no reserve file, and append, ack, park
   * throw. (LevelDB may still write while opening: it replays its log.)
   */
  readOnly?: boolean;
  logger?: Logger;
  /** Clock for receive times and retention. */
  now?: () => Date;
}

export const QUEUE_DEFAULTS = {
  durability: 'sync' as Durability,
  groupIntervalMs: 1000,
  maxAgeMs: 30 * 24 * 3600 * 1000,
  maxBytes: 1024 ** 3,
  minFreeBytes: 64 * 1024 ** 2,
  reserveBytes: 8 * 1024 ** 2,
  retentionIntervalMs: 60_000,
};

/** What one retention pass removed, by reason. */
export interface RetentionResult {
  age: number;
  size: number;
  space: number;
  deadLetters: number;
}

type Db = Level<string, unknown>;
type State = QueueStatus['state'];

interface PendingAppend {
  record: QueueRecord;
  resolve: (record: QueueRecord) => void;
  reject: (error: unknown) => void;
}

interface StoredDeadLetter extends DeadLetter {
  record: QueueRecord;
}

/** Size retention removes down to this fraction of the cap, so it (and its compaction) runs rarely. */
const SIZE_HYSTERESIS = 0.9;
const DELETE_CHUNK = 10_000;
const REOPEN_DELAYS_MS = [1000, 5000, 30_000];
/**
 * Iterator options for reading a batch: a backlog is read once, so it bypasses LevelDB's block cache (it would only
 * evict what status uses), and in chunks of up to 256 KiB rather than classic-level's 16 KiB, which is some 15
 * DSMR 5 telegrams per round trip to LevelDB's thread: reading was a quarter of a backlog drain's time.
 */
const READ_BATCH = { fillCache: false, highWaterMarkBytes: 256 * 1024 };

/**
 * The durable store-and-forward log on LevelDB: `<dataDir>/queue` holds the records, the sinks' cursors, dead
 * letters and counters (layout in keys.ts); `<dataDir>/reserve` is space kept for recovering from a full disk.
 * All writes go through one lane, in order, so a crash leaves a prefix of the appends: no gap, no duplicate.
 */
export class Queue implements TelegramLog {
  readonly dataDir: string;
  readonly dbDir: string;
  readonly durability: Durability;
  private readonly reservePath: string;
  private readonly settings: typeof QUEUE_DEFAULTS & { writeBufferSize: number | undefined; readOnly: boolean };
  private readonly log: Logger;
  private readonly now: () => Date;
  private db: Db;
  private state: State = 'up';
  private lastError: P1Error | undefined;
  private closed = false;
  /** First and last seq on disk (records are contiguous); null when the log is empty. */
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;
  /** Highest seq retention removed: a new record always gets a higher one. */
  private floor = 0;
  /** Last seq handed out by append (written or waiting in `buffer`). */
  private assigned = 0;
  private readonly cursors = new Map<string, number>();
  private readonly dropped = new Map<string, number>();
  private buffer: PendingAppend[] = [];
  private flushScheduled = false;
  private groupTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempts = 0;
  private lane: Promise<void> = Promise.resolve();

  private constructor(dataDir: string, db: Db, options: QueueOptions) {
    this.dataDir = dataDir;
    this.dbDir = queueDir(dataDir);
    this.reservePath = join(dataDir, 'reserve');
    this.db = db;
    this.settings = {
      durability: options.durability ?? QUEUE_DEFAULTS.durability,
      groupIntervalMs: options.groupIntervalMs ?? QUEUE_DEFAULTS.groupIntervalMs,
      maxAgeMs: options.maxAgeMs ?? QUEUE_DEFAULTS.maxAgeMs,
      maxBytes: options.maxBytes ?? QUEUE_DEFAULTS.maxBytes,
      minFreeBytes: options.minFreeBytes ?? QUEUE_DEFAULTS.minFreeBytes,
      reserveBytes: options.readOnly ? 0 : (options.reserveBytes ?? QUEUE_DEFAULTS.reserveBytes),
      retentionIntervalMs: options.retentionIntervalMs ?? QUEUE_DEFAULTS.retentionIntervalMs,
      writeBufferSize: options.writeBufferSize,
      readOnly: options.readOnly ?? false,
    };
    this.durability = this.settings.durability;
    this.log = (options.logger ?? silentLogger()).child({ component: 'queue' });
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Opens (creating unless readOnly) the queue in `dataDir`. Throws P1Error P1_QUEUE_LOCKED when another process
   * has it, P1_QUEUE_NOT_WRITABLE when the directory cannot be written, P1_FILE_NOT_FOUND (readOnly) when absent.
   */
  static async open(dataDir: string, options: QueueOptions = {}): Promise<Queue> {
    const readOnly = options.readOnly ?? false;
    const dbDir = queueDir(dataDir);
    if (readOnly) {
      // classic-level creates the directory even with createIfMissing false: look before opening.
      if (!(await exists(join(dbDir, 'CURRENT')))) {
        throw new P1Error('P1_FILE_NOT_FOUND', `no queue in data directory ${dataDir} (${dbDir} does not exist): is --data-dir right?`);
      }
    } else {
      try {
        await mkdir(dataDir, { recursive: true });
      } catch (error) {
        throw notWritable(dataDir, (error as NodeJS.ErrnoException).code ?? String(error), error);
      }
    }
    let db: Db;
    try {
      db = await openLevel(dataDir, dbDir, !readOnly, options.writeBufferSize);
    } catch (error) {
      // A disk filled up while we were down: the reserve makes room for LevelDB's recovery.
      if (readOnly || !isDiskFull(error) || !(await releaseReserve(join(dataDir, 'reserve')))) throw error;
      db = await openLevel(dataDir, dbDir, true, options.writeBufferSize);
    }
    const queue = new Queue(dataDir, db, options);
    try {
      await queue.loadState();
      if (!readOnly) await queue.ensureReserve();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    if (!readOnly && queue.settings.retentionIntervalMs > 0) {
      queue.retentionTimer = setInterval(() => {
        queue.enforceRetention().catch((error: unknown) => queue.log.error({ err: error }, 'retention failed'));
      }, queue.settings.retentionIntervalMs);
      queue.retentionTimer.unref();
    }
    return queue;
  }

  append(raw: string, receivedAt: Date = this.now()): Promise<QueueRecord> {
    try {
      this.assertWritable();
      if (this.state !== 'up') throw this.lastError ?? new P1Error('P1_QUEUE_IO', `queue ${this.dbDir} is recovering`);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const record: QueueRecord = { seq: ++this.assigned, receivedAt: receivedAt.toISOString(), raw };
    return new Promise<QueueRecord>((resolve, reject) => {
      this.buffer.push({ record, resolve, reject });
      this.scheduleFlush();
    });
  }

  async readAfter(after: number, limit: number): Promise<QueueRecord[]> {
    const db = await this.ready();
    const out: QueueRecord[] = [];
    // LevelDB shows a batch to readers before its write has been reported back here; lastSeq moves only then.
    if (limit <= 0 || this.lastSeq === null) return out;
    const range = keys.recordsBetween(Math.max(after, this.floor), this.lastSeq);
    for (const value of await db.values({ ...range, limit, ...READ_BATCH }).all()) out.push(asRecord(value));
    return out;
  }

  /** Scans in seq order and filters on receive time: clocks of devices without RTC can jump, so time is no index. */
  async readRange(range: { from?: Date; to?: Date; afterSeq?: number; limit: number }): Promise<QueueRecord[]> {
    const db = await this.ready();
    const from = range.from?.toISOString();
    const to = range.to?.toISOString();
    const out: QueueRecord[] = [];
    if (range.limit <= 0 || this.lastSeq === null) return out;
    // ISO strings of toISOString() (UTC, fixed width) sort like the times they name.
    for await (const value of db.values(keys.recordsBetween(Math.max(range.afterSeq ?? 0, this.floor), this.lastSeq))) {
      const record = asRecord(value);
      if ((from !== undefined && record.receivedAt < from) || (to !== undefined && record.receivedAt >= to)) continue;
      out.push(record);
      if (out.length >= range.limit) break;
    }
    return out;
  }

  /** The sink's last acknowledged seq; a sink asking for the first time is registered (retention counts its drops). */
  async cursor(sink: string): Promise<number> {
    this.assertOpen();
    const known = this.cursors.get(sink);
    if (known !== undefined) return known;
    if (!this.settings.readOnly) {
      const db = await this.ready();
      this.cursors.set(sink, 0);
      await db.put(keys.cursorKey(sink), 0);
    }
    return 0;
  }

  /**
   * Advances the sink's cursor; never moves it backwards. Not fsynced on its own: the next append's fsync carries
   * it (LevelDB has one log), and a lost ack only means a record is sent twice, which sinks absorb.
   */
  async ack(sink: string, seq: number): Promise<void> {
    this.assertWritable();
    const db = await this.ready();
    if (!Number.isSafeInteger(seq) || seq < 0) throw new P1Error('P1_USAGE', `ack for sink "${sink}": ${seq} is not a seq`);
    const highest = Math.max(this.lastSeq ?? 0, this.floor);
    if (seq > highest) throw new P1Error('P1_USAGE', `ack for sink "${sink}": seq ${seq} is beyond the last stored seq ${highest}`);
    if (seq <= (this.cursors.get(sink) ?? 0)) return;
    this.cursors.set(sink, seq);
    await db.batch([{ type: 'put', key: keys.cursorKey(sink), value: seq }]);
  }

  async park(sink: string, record: QueueRecord, reason: string): Promise<void> {
    this.assertWritable();
    const db = await this.ready();
    const letter: StoredDeadLetter = { sink, seq: record.seq, reason, parkedAt: this.now().toISOString(), record };
    await db.put(keys.deadLetterKey(sink, record.seq), letter, { sync: true });
    this.log.warn({ sink, seq: record.seq, reason }, 'record parked as dead letter');
  }

  async deadLetters(sink: string): Promise<StoredDeadLetter[]> {
    const db = await this.ready();
    const out: StoredDeadLetter[] = [];
    for await (const value of db.values(keys.deadLettersOf(sink))) out.push(asDeadLetter(value));
    return out;
  }

  /** Removes a dead letter (after it was re-sent, or given up on). */
  async unpark(sink: string, seq: number): Promise<void> {
    this.assertWritable();
    const db = await this.ready();
    await db.del(keys.deadLetterKey(sink, seq), { sync: true });
  }

  /**
   * Data derived from the records, kept in this database under its own key prefix (the history, src/history/):
   * retention never touches it. Ask again after a write failure: the database is reopened then.
   */
  async sublevel(name: string) {
    return (await this.ready()).sublevel<string, unknown>(name, { valueEncoding: 'json' });
  }

  /** While the database is down (a full disk), what is known without it: times null, dead letters not counted. */
  async status(): Promise<QueueStatus> {
    this.assertOpen();
    if (this.state === 'recovering') await this.exclusive(() => Promise.resolve());
    const db = this.state === 'up' ? this.db : undefined;
    const getRecord = async (seq: number | null): Promise<QueueRecord | undefined> => {
      const value: unknown = db === undefined || seq === null ? undefined : await db.get(keys.recordKey(seq));
      return value === undefined ? undefined : asRecord(value);
    };
    const first = await getRecord(this.firstSeq);
    const last = await getRecord(this.lastSeq);
    const sinks: SinkCursorStatus[] = [];
    const deadCounts = new Map<string, number>();
    for await (const value of db?.values(keys.DEAD_LETTER_RANGE) ?? []) {
      const sink = asDeadLetter(value).sink;
      deadCounts.set(sink, (deadCounts.get(sink) ?? 0) + 1);
    }
    const names = new Set([...this.cursors.keys(), ...this.dropped.keys(), ...deadCounts.keys()]);
    for (const sink of [...names].sort()) {
      const cursor = this.cursors.get(sink) ?? 0;
      let lag = 0;
      let lagSeconds = 0;
      if (this.firstSeq !== null && this.lastSeq !== null) {
        const next = Math.max(cursor + 1, this.firstSeq);
        lag = Math.max(0, this.lastSeq - next + 1);
        const oldest = lag > 0 ? await getRecord(next) : undefined;
        if (oldest) lagSeconds = Math.max(0, (this.now().getTime() - Date.parse(oldest.receivedAt)) / 1000);
      }
      sinks.push({ sink, cursor, lag, lagSeconds, dropped: this.dropped.get(sink) ?? 0, deadLetters: deadCounts.get(sink) ?? 0 });
    }
    return {
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      firstReceivedAt: first?.receivedAt ?? null,
      lastReceivedAt: last?.receivedAt ?? null,
      records: this.recordCount(),
      bytesOnDisk: await directorySize(this.dbDir),
      reserveBytes: await reserveSize(this.reservePath),
      durability: this.durability,
      state: this.state,
      sinks,
    };
  }

  /**
   * One retention pass (also run every retentionIntervalMs): removes records older than maxAgeMs, then the oldest
   * while the files exceed maxBytes or the filesystem has less than minFreeBytes free, and dead letters older
   * than maxAgeMs. What a sink had not acknowledged is counted as dropped for it and logged.
   */
  enforceRetention(): Promise<RetentionResult> {
    this.assertWritable();
    return this.exclusive(async () => {
      const result: RetentionResult = { age: 0, size: 0, space: 0, deadLetters: 0 };
      if (this.state !== 'up') return result;
      const { maxAgeMs, maxBytes, minFreeBytes } = this.settings;
      if (maxAgeMs > 0) {
        const cutoff = new Date(this.now().getTime() - maxAgeMs).toISOString();
        result.age = await this.removeOldest(await this.countOlderThan(cutoff), 'age', false);
        result.deadLetters = await this.removeDeadLettersOlderThan(cutoff);
      }
      if (maxBytes > 0) {
        const onDisk = await directorySize(this.dbDir);
        if (onDisk > maxBytes) {
          const count = recordsForBytes(onDisk - maxBytes * SIZE_HYSTERESIS, onDisk, this.recordCount());
          result.size = await this.removeOldest(Math.min(count, this.recordCount() - 1), 'size', true);
        }
      }
      if (minFreeBytes > 0) {
        const free = await freeBytes(this.dbDir);
        if (free < minFreeBytes) {
          // At most a tenth per pass: when something else fills the disk, our history must not vanish in one go.
          const records = this.recordCount();
          const count = recordsForBytes(minFreeBytes * 1.1 - free, await directorySize(this.dbDir), records);
          result.space = await this.removeOldest(Math.min(count, Math.ceil(records / 10), records - 1), 'disk space', true);
        }
      }
      await this.ensureReserve();
      return result;
    });
  }

  /** Grouped durability: writes the appends waiting for the group now (on shutdown), and resolves them. */
  async flush(): Promise<void> {
    this.assertOpen();
    if (this.groupTimer !== undefined) {
      clearTimeout(this.groupTimer);
      this.groupTimer = undefined;
      await this.exclusive(() => this.writeBuffered());
    }
    await this.exclusive(() => Promise.resolve());
  }

  /** Writes what is waiting, then closes the database. Appends after close are refused with P1_QUEUE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.retentionTimer);
    clearTimeout(this.reopenTimer);
    if (this.groupTimer !== undefined) {
      clearTimeout(this.groupTimer);
      this.groupTimer = undefined;
      void this.exclusive(() => this.writeBuffered());
    }
    await this.exclusive(() => Promise.resolve());
    await this.db.close();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.durability === 'sync') {
      void this.exclusive(() => this.writeBuffered());
      return;
    }
    this.groupTimer = setTimeout(() => {
      this.groupTimer = undefined;
      void this.exclusive(() => this.writeBuffered());
    }, this.settings.groupIntervalMs);
  }

  /** Writes everything waiting as one atomic, fsynced batch. */
  private async writeBuffered(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    try {
      await this.db.batch(
        batch.map(({ record }) => ({ type: 'put' as const, key: keys.recordKey(record.seq), value: record })),
        { sync: true },
      );
    } catch (error) {
      // Everything handed out after the failed batch is refused too: seqs stay contiguous.
      const failure = writeFailure(this.dbDir, error);
      this.state = 'recovering';
      this.lastError = failure;
      const refused = [...batch, ...this.buffer];
      this.buffer = [];
      for (const pending of refused) pending.reject(failure);
      this.log.error({ err: error, refused: refused.length }, 'writing to the queue failed; reopening it');
      await this.recover(isDiskFull(error));
      return;
    }
    const lastRecord = batch[batch.length - 1]!.record;
    this.firstSeq ??= batch[0]!.record.seq;
    this.lastSeq = lastRecord.seq;
    for (const { record, resolve } of batch) resolve(record);
  }

  /**
   * After a failed write LevelDB refuses every further write until reopened. On a full disk it cannot even reopen
   * (recovery writes a table): the reserve file is given back first, then the oldest records make room.
   */
  private async recover(diskFull: boolean): Promise<void> {
    await this.db.close().catch(() => undefined);
    if (diskFull && (await releaseReserve(this.reservePath))) {
      this.log.warn({ path: this.reservePath }, 'disk full: released the reserve file');
    }
    try {
      this.db = await openLevel(this.dataDir, this.dbDir, true, this.settings.writeBufferSize);
      await this.loadState();
    } catch (error) {
      this.state = 'down';
      const delay = REOPEN_DELAYS_MS[Math.min(this.reopenAttempts++, REOPEN_DELAYS_MS.length - 1)]!;
      this.log.error({ err: error, retryInMs: delay }, 'queue could not reopen; appends are refused until it does');
      if (!this.closed) {
        this.reopenTimer = setTimeout(() => void this.exclusive(() => this.recover(diskFull)), delay);
        this.reopenTimer.unref();
      }
      return;
    }
    this.reopenAttempts = 0;
    this.state = 'up';
    this.lastError = undefined;
    this.log.info({ lastSeq: this.lastSeq }, 'queue reopened');
    if (diskFull) await this.makeRoomAfterDiskFull();
  }

  /**
   * Drops the oldest records (at least a tenth of the log) until the reserve fits again with headroom, then
   * recreates it: the next full disk must find a reserve to give back, or the queue could not reopen at all.
   */
  private async makeRoomAfterDiskFull(): Promise<void> {
    const target = 2 * this.settings.reserveBytes + this.settings.minFreeBytes;
    try {
      for (let pass = 0; ; pass++) {
        const records = this.recordCount();
        const free = await freeBytes(this.dbDir);
        if (records <= 1 || (pass > 0 && free >= target) || pass >= 20) break;
        const count = Math.max(recordsForBytes(target - free, await directorySize(this.dbDir), records), Math.ceil(records / 10));
        await this.removeOldest(Math.min(count, records - 1), 'disk full', true);
      }
      await this.ensureReserve();
    } catch (error) {
      this.log.error({ err: error }, 'could not make room after a full disk');
    }
  }

  /** Removes the `count` oldest records in chunks; `compact` makes LevelDB give the space back now. */
  private async removeOldest(count: number, reason: string, compact: boolean): Promise<number> {
    if (count <= 0 || this.firstSeq === null || this.lastSeq === null) return 0;
    const from = this.firstSeq;
    const last = this.lastSeq;
    const to = Math.min(last, from + count - 1);
    for (let start = from; start <= to; start += DELETE_CHUNK) {
      const end = Math.min(to, start + DELETE_CHUNK - 1);
      const lost = droppedBySink(this.cursors, start, end);
      const ops: Array<{ type: 'del'; key: string } | { type: 'put'; key: string; value: number }> = [];
      for (let seq = start; seq <= end; seq++) ops.push({ type: 'del', key: keys.recordKey(seq) });
      for (const [sink, n] of lost) ops.push({ type: 'put', key: keys.droppedKey(sink), value: (this.dropped.get(sink) ?? 0) + n });
      ops.push({ type: 'put', key: keys.FLOOR_KEY, value: end });
      await this.db.batch(ops, { sync: true });
      for (const [sink, n] of lost) {
        this.dropped.set(sink, (this.dropped.get(sink) ?? 0) + n);
        this.log.warn({ sink, dropped: n, fromSeq: start, toSeq: end, reason }, 'retention removed records the sink had not sent');
      }
      this.floor = end;
      this.firstSeq = end < last ? end + 1 : null;
      if (this.firstSeq === null) this.lastSeq = null;
    }
    this.log.info({ removed: to - from + 1, fromSeq: from, toSeq: to, reason }, 'retention removed old records');
    if (compact) await this.compact(keys.recordKey(from), keys.recordKey(to));
    return to - from + 1;
  }

  /** Starts at the first live record: the keys retention deleted before stay as tombstones until compacted. */
  private async countOlderThan(cutoff: string): Promise<number> {
    let count = 0;
    for await (const value of this.db.values(keys.recordsAfter(this.floor))) {
      if (asRecord(value).receivedAt >= cutoff) break;
      count++;
    }
    return count;
  }

  private async removeDeadLettersOlderThan(cutoff: string): Promise<number> {
    const old: string[] = [];
    for await (const [key, value] of this.db.iterator(keys.DEAD_LETTER_RANGE)) {
      if (asDeadLetter(value).record.receivedAt < cutoff) old.push(key);
    }
    if (old.length > 0) await this.db.batch(old.map((key) => ({ type: 'del' as const, key })), { sync: true });
    return old.length;
  }

  /** Deleted keys keep their space until a compaction rewrites their files; LevelDB's own would come much later. */
  private async compact(start: string, end: string): Promise<void> {
    const db = this.db as Db & { compactRange?: (start: string, end: string) => Promise<void> };
    if (typeof db.compactRange === 'function') await db.compactRange(start, end);
  }

  private async ensureReserve(): Promise<void> {
    const bytes = this.settings.reserveBytes;
    if (bytes <= 0 || (await reserveSize(this.reservePath)) === bytes) return;
    // Only with room to spare: taking the last free bytes for the reserve would cause the very ENOSPC it is for.
    if ((await freeBytes(this.dataDir)) < 2 * bytes + this.settings.minFreeBytes) return;
    try {
      if (await ensureReserve(this.reservePath, bytes)) this.log.info({ path: this.reservePath, bytes }, 'reserve file in place');
    } catch (error) {
      throw notWritable(this.dataDir, (error as NodeJS.ErrnoException).code ?? String(error), error);
    }
  }

  private async loadState(): Promise<void> {
    this.floor = asCount(await this.db.get(keys.FLOOR_KEY), keys.FLOOR_KEY);
    const [first] = await this.db.keys({ ...keys.recordsAfter(this.floor), limit: 1 }).all();
    const [last] = await this.db.keys({ ...keys.RECORD_RANGE, limit: 1, reverse: true }).all();
    this.firstSeq = first === undefined ? null : keys.seqOfRecordKey(first);
    this.lastSeq = last === undefined ? null : keys.seqOfRecordKey(last);
    this.assigned = Math.max(this.lastSeq ?? 0, this.floor);
    this.cursors.clear();
    for await (const [key, value] of this.db.iterator(keys.CURSOR_RANGE)) this.cursors.set(keys.sinkOfCursorKey(key), asCount(value, key));
    this.dropped.clear();
    for await (const [key, value] of this.db.iterator(keys.DROPPED_RANGE)) this.dropped.set(keys.sinkOfDroppedKey(key), asCount(value, key));
  }

  /** The database once any recovery has finished; throws the write failure while it cannot reopen. */
  private async ready(): Promise<Db> {
    this.assertOpen();
    if (this.state === 'recovering') await this.exclusive(() => Promise.resolve());
    if (this.state !== 'up') throw this.lastError ?? new P1Error('P1_QUEUE_IO', `queue ${this.dbDir} is not open`);
    return this.db;
  }

  private recordCount(): number {
    return this.firstSeq === null || this.lastSeq === null ? 0 : this.lastSeq - this.firstSeq + 1;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new P1Error('P1_QUEUE_CLOSED', `queue ${this.dbDir} is closed`);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.settings.readOnly) throw new P1Error('P1_USAGE', `queue ${this.dbDir} was opened read-only`);
  }
}

export function queueDir(dataDir: string): string {
  return join(dataDir, 'queue');
}

async function openLevel(dataDir: string, dbDir: string, createIfMissing: boolean, writeBufferSize: number | undefined): Promise<Db> {
  const db = new Level<string, unknown>(dbDir, {
    valueEncoding: 'json',
    createIfMissing,
    ...(writeBufferSize === undefined ? {} : { writeBufferSize }),
  });
  try {
    await db.open();
  } catch (error) {
    throw openError(dataDir, dbDir, error);
  }
  return db;
}

function writeFailure(dbDir: string, error: unknown): P1Error {
  const reason = error instanceof Error ? error.message : String(error);
  return isDiskFull(error)
    ? new P1Error('P1_QUEUE_DISK_FULL', `disk full: could not store the telegram in ${dbDir}; dropping the oldest records`, { cause: error })
    : new P1Error('P1_QUEUE_IO', `could not store the telegram in ${dbDir}: ${reason}`, { cause: error });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function reserveSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function asRecord(value: unknown): QueueRecord {
  const r = value as Partial<QueueRecord> | null;
  if (r === null || typeof r !== 'object' || typeof r.seq !== 'number' || typeof r.receivedAt !== 'string' || typeof r.raw !== 'string') {
    throw new P1Error('P1_QUEUE_IO', `queue record is not { seq, receivedAt, raw }: ${JSON.stringify(value).slice(0, 120)}`);
  }
  return { seq: r.seq, receivedAt: r.receivedAt, raw: r.raw };
}

function asDeadLetter(value: unknown): StoredDeadLetter {
  const d = value as Partial<StoredDeadLetter> | null;
  if (d === null || typeof d !== 'object' || typeof d.sink !== 'string' || typeof d.reason !== 'string') {
    throw new P1Error('P1_QUEUE_IO', `dead letter is not { sink, seq, reason, parkedAt, record }: ${JSON.stringify(value).slice(0, 120)}`);
  }
  const record = asRecord(d.record);
  return { sink: d.sink, seq: record.seq, reason: d.reason, parkedAt: String(d.parkedAt), record };
}

function asCount(value: unknown, key: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new P1Error('P1_QUEUE_IO', `queue key ${key} holds ${JSON.stringify(value)}, not a count`);
  }
  return value;
}
