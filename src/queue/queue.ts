import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { P1Error } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { directorySize, ensureReserve, filesystemBytes, freeBytes, isDiskFull, MIN_FILESYSTEM_BYTES, releaseReserve, spaceBudget, type SpaceBudget } from './disk.js';
import * as keys from './keys.js';
import { notWritable, openError } from './open-error.js';
import { PLAUSIBLE_FROM } from './clock-watch.js';
import { corruptCopies, isCorruption, moveAside, repairLevelDb, type CorruptionEvent } from './corruption.js';
import { decodeRecord, encodeRecord, recordOf } from './record-format.js';
import { droppedBySink, recordsForBytes } from './retention.js';
import { DROP_REASONS, type DeadLetter, type DropReason, type FrameProtocol, type QueueRecord, type QueueStatus, type SinkCursorStatus, type TelegramLog } from './types.js';

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
  /**
   * The free-space floor: when the filesystem has less free, the oldest records go, as few as bring it back. At most
   * this (default 64 MiB), 1/32 of a smaller filesystem (spaceBudget in disk.ts); 0: no floor.
   */
  minFreeBytes?: number;
  /**
   * The reserve file, given back when the disk is full so the database can reopen, and recreated as soon as there is
   * room. At most this (default 16 MiB), 1/32 of a smaller filesystem; 0: none.
   */
  reserveBytes?: number;
  /** How often retention runs while the queue is open. Default 60 s; 0: only when enforceRetention() is called. */
  retentionIntervalMs?: number;
  /** LevelDB's memtable / write-ahead-log size. Default 1 MiB, and at most an eighth of the reserve. */
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
  reserveBytes: 16 * 1024 ** 2,
  retentionIntervalMs: 60_000,
};

/** What one retention pass removed, by reason. */
export interface RetentionResult {
  age: number;
  size: number;
  /** Under the free-space floor. */
  space: number;
  deadLetters: number;
}

/** Appends waiting while the queue recovers from a full disk; past this they are refused. */
const MAX_WAITING_APPENDS = 10_000;
/** Grouped durability writes a group this large at once instead of at its interval (a meter sends ~10 a group). */
const GROUP_FULL_APPENDS = 256;
/**
 * Making room removes between 1% and 2% of the records per step (fewer free nothing: LevelDB gives space back a
 * table file at a time), and stops after a few steps that freed nothing.
 */
const ROOM_STEP = { min: 1 / 100, max: 1 / 50 };
const ROOM_STEPS_WITHOUT_GAIN = 3;
/**
 * LevelDB's smallest: it keeps 10 of these for itself and caches (and memory-maps) the rest of its tables. Its
 * default, 1000, kept every table of a million-telegram backlog mapped during a drain: 314 MB of file-backed RSS.
 */
const MAX_OPEN_FILES = 74;
/** Of the LevelDB batches one write of the waiting appends is cut into, every this many is fsynced (some 4 write buffers). */
const SYNC_EVERY = 16;
/** While appends come, the free space is looked at this often, so the floor holds between retention passes. */
const SPACE_CHECK_MS = 1000;

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
/** Records are binary (record-format.ts); everything else in the database is JSON. */
const RECORD_VALUE = { valueEncoding: 'buffer' } as const;

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
  private readonly settings: Omit<typeof QUEUE_DEFAULTS, 'reserveBytes' | 'minFreeBytes'> & SpaceBudget & { readOnly: boolean };
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
  /** Per sink, per reason: `${sink}\n${reason}`. */
  private readonly droppedByReason = new Map<string, number>();
  private diskFullCount = 0;
  /** Seqs found unreadable (each counted once, whichever reader met it). */
  private readonly unreadable = new Set<number>();
  private corruption: CorruptionEvent | null = null;
  /** Receive times of seqs [from, to] are off by deltaMs (clock jumps; see clockJumped). */
  private readonly clockCorrections: ClockCorrection[] = [];
  /** Last seq stored before this process opened the queue: a jump seen now says nothing about earlier runs. */
  private runStart = 0;
  private buffer: PendingAppend[] = [];
  private flushScheduled = false;
  private groupTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempts = 0;
  private recoveringFromFullDisk = false;
  private nextSpaceCheck = 0;
  private lane: Promise<void> = Promise.resolve();

  private constructor(dataDir: string, db: Db, options: QueueOptions, budget: SpaceBudget) {
    this.dataDir = dataDir;
    this.dbDir = queueDir(dataDir);
    this.reservePath = join(dataDir, 'reserve');
    this.db = db;
    this.settings = {
      durability: options.durability ?? QUEUE_DEFAULTS.durability,
      groupIntervalMs: options.groupIntervalMs ?? QUEUE_DEFAULTS.groupIntervalMs,
      maxAgeMs: options.maxAgeMs ?? QUEUE_DEFAULTS.maxAgeMs,
      maxBytes: options.maxBytes ?? QUEUE_DEFAULTS.maxBytes,
      retentionIntervalMs: options.retentionIntervalMs ?? QUEUE_DEFAULTS.retentionIntervalMs,
      ...budget,
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
    // Read-only: no reserve and no floor (it removes nothing).
    const caps = readOnly
      ? { reserveBytes: 0, minFreeBytes: 0 }
      : { reserveBytes: options.reserveBytes ?? QUEUE_DEFAULTS.reserveBytes, minFreeBytes: options.minFreeBytes ?? QUEUE_DEFAULTS.minFreeBytes };
    const budget = spaceBudget(readOnly ? 0 : await filesystemBytes(dataDir), caps);
    if (options.writeBufferSize !== undefined) budget.writeBufferSize = options.writeBufferSize;
    const log = (options.logger ?? silentLogger()).child({ component: 'queue' });
    let corruption: CorruptionEvent | null = null;
    let queue: Queue;
    for (let attempt = 1; ; attempt++) {
      try {
        queue = await Queue.openOnce(dataDir, options, budget);
        break;
      } catch (error) {
        // Damaged storage must not become a restart loop that stores nothing: LevelDB's repair first; if the queue
        // still does not open, it is moved aside and a new one begun (read-only opening only says so).
        if (readOnly || !isCorruption(error) || attempt > 2) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        const at = (options.now ?? (() => new Date()))();
        if (attempt === 1) {
          log.error({ err: error, dbDir }, 'the queue is damaged; trying LevelDB repair');
          await repairLevelDb(dbDir).catch((repairError: unknown) => log.error({ err: repairError }, 'LevelDB repair failed'));
          corruption = { at: at.toISOString(), action: 'repaired', reason, movedTo: null };
        } else {
          const movedTo = await moveAside(dataDir, dbDir, at);
          log.error({ err: error, movedTo }, 'the queue is damaged beyond repair: moved aside, a new queue begins (the meter is read on)');
          corruption = { at: at.toISOString(), action: 'movedAside', reason, movedTo };
        }
      }
    }
    queue.corruption = corruption;
    queue.runStart = queue.assigned;
    if (corruption?.action === 'repaired') log.warn({ dbDir, records: queue.recordCount() }, 'the queue was repaired by LevelDB');
    if (!readOnly && (await filesystemBytes(dataDir)) < MIN_FILESYSTEM_BYTES) {
      log.warn({ dataDir, minimumBytes: MIN_FILESYSTEM_BYTES }, 'the data directory is on a filesystem smaller than p1logger needs');
    }
    if (!readOnly && queue.settings.retentionIntervalMs > 0) {
      queue.retentionTimer = setInterval(() => {
        queue.enforceRetention().catch((error: unknown) => queue.log.error({ err: error }, 'retention failed'));
      }, queue.settings.retentionIntervalMs);
      queue.retentionTimer.unref();
    }
    return queue;
  }

  /**
   * The receive clock jumped by `deltaMs` (the service watches it against the monotonic clock): the receive times of
   * everything stored since this process opened the queue were taken from the clock before the jump, and are from now
   * on read corrected by it (and marked: clockCorrectedMs), so age retention, exports, history and sinks see the
   * times the clock after the jump would have given. Persisted: the correction outlives a restart.
   */
  clockJumped(deltaMs: number): Promise<void> {
    this.assertWritable();
    const from = this.runStart + 1;
    const to = this.assigned;
    this.log.warn({ deltaMs, fromSeq: from, toSeq: to }, 'the clock jumped: receive times stored before it are read corrected');
    if (to < from || deltaMs === 0) return Promise.resolve();
    const existing = this.clockCorrections.find((c) => c.from === from && c.to === to);
    const correction = existing ?? { from, to, deltaMs: 0 };
    correction.deltaMs += deltaMs;
    if (existing === undefined) this.clockCorrections.push(correction);
    return this.exclusive(async () => {
      if (this.state === 'up') await this.db.put(keys.clockCorrectionKey(to), correction, { sync: true });
    });
  }

  /** The record with its receive time corrected for the clock jumps seen after it was stored. */
  private corrected(record: QueueRecord): QueueRecord {
    if (this.clockCorrections.length === 0) return record;
    let delta = 0;
    for (const c of this.clockCorrections) if (record.seq >= c.from && record.seq <= c.to) delta += c.deltaMs;
    if (delta === 0) return record;
    return { ...record, receivedAt: new Date(Date.parse(record.receivedAt) + delta).toISOString(), clockCorrectedMs: delta };
  }

  /** One try at opening: LevelDB (giving back the reserve when the disk is full), then the queue's own state. */
  private static async openOnce(dataDir: string, options: QueueOptions, budget: SpaceBudget): Promise<Queue> {
    const readOnly = options.readOnly ?? false;
    const dbDir = queueDir(dataDir);
    let db: Db;
    let diskWasFull = false;
    try {
      db = await openLevel(dataDir, dbDir, !readOnly, budget);
    } catch (error) {
      // A disk filled up while we were down: the reserve makes room for LevelDB's recovery.
      if (readOnly || !isDiskFull(error) || !(await releaseReserve(join(dataDir, 'reserve')))) throw error;
      diskWasFull = true;
      db = await openLevel(dataDir, dbDir, true, budget);
    }
    const queue = new Queue(dataDir, db, options, budget);
    try {
      await queue.loadState();
      if (diskWasFull) await queue.makeRoom('diskFull');
      else if (!readOnly) await queue.ensureReserve();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    return queue;
  }

  append(raw: string, receivedAt: Date = this.now(), protocol: FrameProtocol = 'dsmr'): Promise<QueueRecord> {
    try {
      this.assertWritable();
      // While it recovers from a full disk, appends wait (a few): they are written once room is made.
      const waiting = this.state === 'recovering' && this.recoveringFromFullDisk && this.buffer.length < MAX_WAITING_APPENDS;
      if (this.state !== 'up' && !waiting) throw this.lastError ?? new P1Error('P1_QUEUE_IO', `queue ${this.dbDir} is recovering`);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const record: QueueRecord = { seq: ++this.assigned, receivedAt: receivedAt.toISOString(), protocol, raw };
    return new Promise<QueueRecord>((resolve, reject) => {
      this.buffer.push({ record, resolve, reject });
      if (this.groupTimer !== undefined && this.buffer.length >= GROUP_FULL_APPENDS) {
        // A full group is written now: a fast source (a capture replayed) is not held to one group per interval.
        void this.writeGroupNow();
        return;
      }
      this.scheduleFlush();
    });
  }

  /**
   * Records are contiguous, so what LevelDB does not hand back (a damaged table block it skips) shows as a gap in
   * the seqs, and a value that fails its checksum as a decode error: both are counted, logged and skipped, never
   * silently. A read LevelDB itself fails on is retried a key at a time, to keep every record that can be read.
   */
  async readAfter(after: number, limit: number): Promise<QueueRecord[]> {
    const db = await this.ready();
    // LevelDB shows a batch to readers before its write has been reported back here; lastSeq moves only then.
    if (limit <= 0 || this.lastSeq === null) return [];
    const last = this.lastSeq;
    const out: QueueRecord[] = [];
    // A batch that was all unreadable must not look like the end of the log to the uploader: read on past it.
    for (let start = Math.max(after, this.floor); out.length === 0 && start < last; ) {
      start = await this.readBatch(db, start, last, limit, out);
    }
    return out;
  }

  /** Reads records after `start` (up to `last`, at most `limit`) into `out`; returns the last seq looked at. */
  private async readBatch(db: Db, start: number, last: number, limit: number, out: QueueRecord[]): Promise<number> {
    let entries: Array<[string, unknown]>;
    try {
      entries = await db.iterator({ ...keys.recordsBetween(start, last), limit, ...READ_BATCH, ...RECORD_VALUE }).all();
    } catch (error) {
      if (!isCorruption(error)) throw error;
      this.log.error({ err: error, afterSeq: start }, 'reading the queue failed on damaged data; reading key by key');
      entries = await this.readKeyByKey(db, start, Math.min(last, start + limit));
    }
    let next = start + 1;
    for (const [key, value] of entries) {
      const seq = keys.seqOfRecordKey(key);
      if (seq > next) this.markUnreadable(next, seq - 1, 'missing');
      next = seq + 1;
      try {
        out.push(this.corrected(decodeRecord(value)));
      } catch (error) {
        this.markUnreadable(seq, seq, error instanceof Error ? error.message : String(error));
      }
    }
    // Fewer than asked and the log goes on: the rest of the run is missing too.
    if (entries.length < limit && next <= last) {
      this.markUnreadable(next, last, 'missing');
      return last;
    }
    return next - 1;
  }

  private async readKeyByKey(db: Db, after: number, last: number): Promise<Array<[string, unknown]>> {
    const entries: Array<[string, unknown]> = [];
    for (let seq = after + 1; seq <= last; seq++) {
      const key = keys.recordKey(seq);
      try {
        const value: unknown = await db.get(key, RECORD_VALUE);
        if (value !== undefined) entries.push([key, value]);
      } catch (error) {
        if (!isCorruption(error)) throw error;
      }
    }
    return entries;
  }

  private markUnreadable(from: number, to: number, reason: string): void {
    let fresh = 0;
    for (let seq = from; seq <= to; seq++) {
      if (!this.unreadable.has(seq)) fresh++;
      this.unreadable.add(seq);
    }
    if (fresh > 0) this.log.error({ fromSeq: from, toSeq: to, records: to - from + 1, reason }, 'stored records could not be read: skipped');
  }

  /** The last stored record (for sinks that publish only the newest reading), null while the log is empty. */
  async newest(): Promise<QueueRecord | null> {
    const db = await this.ready();
    if (this.lastSeq === null) return null;
    const value: unknown = await db.get(keys.recordKey(this.lastSeq), RECORD_VALUE);
    return value === undefined ? null : this.corrected(decodeRecord(value));
  }

  /** Scans in seq order and filters on receive time: clocks of devices without RTC can jump, so time is no index. */
  async readRange(range: { from?: Date; to?: Date; afterSeq?: number; limit: number }): Promise<QueueRecord[]> {
    const db = await this.ready();
    const from = range.from?.toISOString();
    const to = range.to?.toISOString();
    const out: QueueRecord[] = [];
    if (range.limit <= 0 || this.lastSeq === null) return out;
    // ISO strings of toISOString() (UTC, fixed width) sort like the times they name.
    for await (const value of db.values({ ...keys.recordsBetween(Math.max(range.afterSeq ?? 0, this.floor), this.lastSeq), ...RECORD_VALUE })) {
      const record = this.corrected(decodeRecord(value));
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
      const value = db === undefined || seq === null ? undefined : await db.get(keys.recordKey(seq), RECORD_VALUE).catch(() => undefined);
      // A damaged record has no time to show; readers count it.
      const record = value === undefined ? undefined : decodeOrUndefined(value);
      return record === undefined ? undefined : this.corrected(record);
    };
    const first = await getRecord(this.firstSeq);
    const last = await getRecord(this.lastSeq);
    const sinks: SinkCursorStatus[] = [];
    const deadCounts = new Map<string, number>();
    const deadReasons = new Map<string, Record<string, number>>();
    for await (const value of db?.values(keys.DEAD_LETTER_RANGE) ?? []) {
      const { sink, reason } = asDeadLetter(value);
      deadCounts.set(sink, (deadCounts.get(sink) ?? 0) + 1);
      const reasons = deadReasons.get(sink) ?? {};
      const key = reason.slice(0, 200);
      reasons[key] = (reasons[key] ?? 0) + 1;
      deadReasons.set(sink, reasons);
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
      const droppedByReason = Object.fromEntries(DROP_REASONS.map((reason) => [reason, this.droppedByReason.get(reasonKey(sink, reason)) ?? 0]));
      sinks.push({
        sink,
        cursor,
        lag,
        lagSeconds,
        dropped: this.dropped.get(sink) ?? 0,
        droppedByReason: droppedByReason as Record<DropReason, number>,
        deadLetters: deadCounts.get(sink) ?? 0,
        deadLetterReasons: deadReasons.get(sink) ?? {},
      });
    }
    return {
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      firstReceivedAt: first?.receivedAt ?? null,
      lastReceivedAt: last?.receivedAt ?? null,
      records: this.recordCount(),
      bytesOnDisk: await directorySize(this.dbDir),
      reserveBytes: await reserveSize(this.reservePath),
      reserveTargetBytes: this.settings.reserveBytes,
      minFreeBytes: this.settings.minFreeBytes,
      diskFull: this.diskFullCount,
      unreadable: this.unreadable.size,
      corruption: this.corruption,
      corruptCopies: await corruptCopies(this.dataDir),
      durability: this.durability,
      state: this.state,
      sinks,
    };
  }

  /**
   * One retention pass (also run every retentionIntervalMs): removes records older than maxAgeMs, then the oldest
   * while the files exceed maxBytes or the filesystem has less than minFreeBytes free (as few as bring it back), and
   * dead letters older than maxAgeMs; then recreates the reserve if it is missing and fits. What a sink had not
   * acknowledged is counted as dropped for it, by reason, and logged.
   */
  enforceRetention(): Promise<RetentionResult> {
    this.assertWritable();
    return this.exclusive(async () => {
      const result: RetentionResult = { age: 0, size: 0, space: 0, deadLetters: 0 };
      if (this.state !== 'up') return result;
      const { maxAgeMs, maxBytes } = this.settings;
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
      result.space = await this.makeRoom('freeSpace');
      return result;
    });
  }

  /** Grouped durability: writes the appends waiting for the group now (on shutdown), and resolves them. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.writeGroupNow();
    await this.exclusive(() => Promise.resolve());
  }

  /** Writes what is waiting, then closes the database. Appends after close are refused with P1_QUEUE_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.retentionTimer);
    clearTimeout(this.reopenTimer);
    void this.writeGroupNow();
    await this.exclusive(() => Promise.resolve());
    await this.db.close();
  }

  /** Grouped durability: writes the group waiting for its timer now; resolves at once when none waits. */
  private writeGroupNow(): Promise<void> {
    if (this.groupTimer === undefined) return Promise.resolve();
    clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    return this.exclusive(() => this.writeBuffered());
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

  /**
   * Writes everything waiting, in order, in LevelDB batches of at most a quarter of its write buffer, so that a
   * write-ahead log never grows much past that buffer and a reopen on a full disk fits in the reserve. The last batch
   * (and every SYNC_EVERY-th) is fsynced, which makes the ones before it durable too; only then do their appends
   * resolve and readers see them.
   */
  private async writeBuffered(): Promise<void> {
    this.flushScheduled = false;
    let written: PendingAppend[] = [];
    for (let batches = 1; this.buffer.length > 0; batches++) {
      if (this.state !== 'up') return this.refuse(written);
      let bytes = 0;
      let count = 0;
      while (count < this.buffer.length && (count === 0 || bytes + this.buffer[count]!.record.raw.length <= this.settings.writeBufferSize / 4)) {
        bytes += this.buffer[count++]!.record.raw.length;
      }
      const batch = this.buffer.splice(0, count);
      const sync = this.buffer.length === 0 || batches % SYNC_EVERY === 0;
      if (!(await this.writeBatch(batch, sync))) {
        // Refused after a failed reopen: what LevelDB kept of the batches before (loadState saw it) is stored.
        const kept = written.filter((p) => p.record.seq <= (this.lastSeq ?? 0));
        this.resolveWritten(kept);
        return this.refuse(written.slice(kept.length));
      }
      written.push(...batch);
      if (sync) {
        this.resolveWritten(written);
        written = [];
      }
    }
  }

  private resolveWritten(written: PendingAppend[]): void {
    if (written.length === 0) return;
    this.firstSeq ??= written[0]!.record.seq;
    this.lastSeq = Math.max(this.lastSeq ?? 0, written[written.length - 1]!.record.seq);
    for (const { record, resolve } of written) resolve(record);
    if (this.settings.minFreeBytes > 0 && performance.now() >= this.nextSpaceCheck) {
      this.nextSpaceCheck = performance.now() + SPACE_CHECK_MS;
      void this.exclusive(() => this.makeRoom('freeSpace'));
    }
  }

  /**
   * On a full disk the batch waits while the queue reopens and makes room, then is written again with the same seqs
   * (a batch LevelDB had kept after all is overwritten by itself), fsynced; appends arriving meanwhile wait behind it.
   * Anything else, or a disk where no room could be made, refuses the batch and everything after it (false): seqs
   * stay contiguous.
   */
  private async writeBatch(batch: PendingAppend[], sync: boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.batch(
          batch.map(({ record }) => ({ type: 'put' as const, key: keys.recordKey(record.seq), value: encodeRecord(record), ...RECORD_VALUE })),
          { sync: sync || attempt > 1 },
        );
        return true;
      } catch (error) {
        const diskFull = isDiskFull(error);
        if (diskFull) this.diskFullCount++;
        this.state = 'recovering';
        this.recoveringFromFullDisk = diskFull;
        this.lastError = writeFailure(this.dbDir, error);
        this.log.error({ err: error, waiting: batch.length + this.buffer.length, attempt }, 'writing to the queue failed; reopening it');
        const up = await this.recover(diskFull);
        this.recoveringFromFullDisk = false;
        if (!up || !diskFull || attempt >= 3 || this.closed) {
          this.refuse(batch);
          return false;
        }
      }
    }
  }

  /** Rejects appends that were not written; the seqs they had are handed out again. */
  private refuse(pending: PendingAppend[]): void {
    const failure = this.lastError ?? new P1Error('P1_QUEUE_IO', `queue ${this.dbDir} is not open`);
    for (const p of [...pending, ...this.buffer.splice(0)]) p.reject(failure);
    this.assigned = Math.max(this.lastSeq ?? 0, this.floor);
  }

  /**
   * After a failed write LevelDB refuses every further write until reopened. On a full disk it cannot even reopen
   * (recovery writes a table): the reserve file is given back first, then the oldest records make room. True when
   * the queue is up again; otherwise it is `down` and tries again later (space may come back by itself).
   */
  private async recover(diskFull: boolean): Promise<boolean> {
    await this.db.close().catch(() => undefined);
    if (diskFull && (await releaseReserve(this.reservePath))) {
      this.log.warn({ path: this.reservePath }, 'disk full: released the reserve file');
    }
    try {
      this.db = await openLevel(this.dataDir, this.dbDir, true, this.settings);
      await this.loadState({ keepAssigned: true });
    } catch (error) {
      this.state = 'down';
      const delay = REOPEN_DELAYS_MS[Math.min(this.reopenAttempts++, REOPEN_DELAYS_MS.length - 1)]!;
      this.log.error({ err: error, retryInMs: delay }, 'queue could not reopen; appends are refused until it does');
      if (!this.closed) {
        this.reopenTimer = setTimeout(() => void this.exclusive(() => this.recover(diskFull)), delay);
        this.reopenTimer.unref();
      }
      return false;
    }
    this.reopenAttempts = 0;
    this.state = 'up';
    this.lastError = undefined;
    this.log.info({ lastSeq: this.lastSeq }, 'queue reopened');
    if (diskFull) await this.makeRoom('diskFull');
    return true;
  }

  /**
   * Until the filesystem has the floor free again, plus the reserve when that is missing, removes the oldest records
   * in small steps (compacting each, so the space really comes back): as few as that takes, never the newest, and it
   * stops when steps free nothing (another file holds the space). Then recreates the reserve if it now fits: the next
   * full disk must find one to give back. Returns how many records went.
   */
  private async makeRoom(reason: DropReason): Promise<number> {
    let removed = 0;
    if (this.closed || this.state !== 'up') return 0;
    try {
      let best = await freeBytes(this.dbDir);
      // The compactions that give space back must first write: on a nearly full disk the reserve pays for them.
      if (best < this.settings.reserveBytes / 2 && best < this.settings.minFreeBytes && (await releaseReserve(this.reservePath))) {
        this.log.warn({ path: this.reservePath, free: best }, 'disk nearly full: released the reserve file to make room');
        best = await freeBytes(this.dbDir);
      }
      // After a full disk, room to recreate the reserve (with as much again free) is what is needed; the floor is
      // retention's and comes back at its next pass.
      const reserveMissing = (await reserveSize(this.reservePath)) < this.settings.reserveBytes;
      const reserveRoom = reserveMissing ? 2 * this.settings.reserveBytes : 0;
      const target = reason === 'diskFull' ? reserveRoom : this.settings.minFreeBytes + reserveRoom / 2;
      for (let stepsWithoutGain = 0; best < target && stepsWithoutGain < ROOM_STEPS_WITHOUT_GAIN; ) {
        const records = this.recordCount();
        if (records <= 1) break;
        const needed = recordsForBytes(target - best, await directorySize(this.dbDir), records);
        const step = Math.min(Math.max(needed, Math.ceil(records * ROOM_STEP.min)), Math.ceil(records * ROOM_STEP.max), records - 1);
        removed += await this.removeOldest(step, reason, true);
        const free = await freeBytes(this.dbDir);
        stepsWithoutGain = free > best ? 0 : stepsWithoutGain + 1;
        best = Math.max(best, free);
      }
      await this.ensureReserve();
    } catch (error) {
      this.log.error({ err: error, reason }, 'could not make room on the disk');
    }
    return removed;
  }

  /** Removes the `count` oldest records in chunks; `compact` makes LevelDB give the space back now. */
  private async removeOldest(count: number, reason: DropReason, compact: boolean): Promise<number> {
    if (count <= 0 || this.firstSeq === null || this.lastSeq === null) return 0;
    const from = this.firstSeq;
    const last = this.lastSeq;
    const to = Math.min(last, from + count - 1);
    // LevelDB writes its memtable out before a compaction: written now, the newest records go to a table of their
    // own, and the deletions below to another that spans only the oldest keys. Together they would span the whole
    // log, and the compaction would rewrite every table, needing as much free space as the database holds.
    if (compact) await this.compact(keys.recordKey(from), keys.recordKey(from));
    for (let start = from; start <= to; start += DELETE_CHUNK) {
      const end = Math.min(to, start + DELETE_CHUNK - 1);
      const lost = droppedBySink(this.cursors, start, end);
      const ops: Array<{ type: 'del'; key: string } | { type: 'put'; key: string; value: number }> = [];
      for (let seq = start; seq <= end; seq++) ops.push({ type: 'del', key: keys.recordKey(seq) });
      for (const [sink, n] of lost) {
        ops.push({ type: 'put', key: keys.droppedKey(sink), value: (this.dropped.get(sink) ?? 0) + n });
        ops.push({ type: 'put', key: keys.droppedByReasonKey(sink, reason), value: (this.droppedByReason.get(reasonKey(sink, reason)) ?? 0) + n });
      }
      ops.push({ type: 'put', key: keys.FLOOR_KEY, value: end });
      await this.db.batch(ops, { sync: true });
      for (const [sink, n] of lost) {
        this.dropped.set(sink, (this.dropped.get(sink) ?? 0) + n);
        this.droppedByReason.set(reasonKey(sink, reason), (this.droppedByReason.get(reasonKey(sink, reason)) ?? 0) + n);
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

  /**
   * Starts at the first live record: the keys retention deleted before stay as tombstones until compacted. Times are
   * read corrected for clock jumps; a time no set clock gives (1970: stored before NTP, in a run that ended before the
   * jump was seen) is no age at all, so a record with one that a sink has not sent stops age retention there.
   */
  private async countOlderThan(cutoff: string): Promise<number> {
    let count = 0;
    const unsentFrom = Math.min(...this.cursors.values()) + 1;
    for await (const value of this.db.values({ ...keys.recordsAfter(this.floor), ...RECORD_VALUE })) {
      // A damaged record goes with its neighbours: it has no time of its own to keep it.
      const decoded = decodeOrUndefined(value);
      const record = decoded === undefined ? undefined : this.corrected(decoded);
      if (record !== undefined && (record.receivedAt >= cutoff || (record.receivedAt < PLAUSIBLE_FROM && record.seq >= unsentFrom))) break;
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
    const existing = await reserveSize(this.reservePath);
    if (bytes <= 0 || existing === bytes) return;
    // Only with as much again left free: taking the last free bytes would cause the very ENOSPC it is for.
    if ((await freeBytes(this.dataDir)) + existing < 2 * bytes) return;
    try {
      if (await ensureReserve(this.reservePath, bytes)) this.log.info({ path: this.reservePath, bytes }, 'reserve file in place');
    } catch (error) {
      throw notWritable(this.dataDir, (error as NodeJS.ErrnoException).code ?? String(error), error);
    }
  }

  /** `keepAssigned`: appends waiting through a reopen keep their seqs. */
  private async loadState(options: { keepAssigned?: boolean } = {}): Promise<void> {
    this.floor = asCount(await this.db.get(keys.FLOOR_KEY), keys.FLOOR_KEY);
    const [first] = await this.db.keys({ ...keys.recordsAfter(this.floor), limit: 1 }).all();
    const [last] = await this.db.keys({ ...keys.RECORD_RANGE, limit: 1, reverse: true }).all();
    this.firstSeq = first === undefined ? null : keys.seqOfRecordKey(first);
    this.lastSeq = last === undefined ? null : keys.seqOfRecordKey(last);
    this.assigned = Math.max(this.lastSeq ?? 0, this.floor, options.keepAssigned ? this.assigned : 0);
    this.cursors.clear();
    for await (const [key, value] of this.db.iterator(keys.CURSOR_RANGE)) this.cursors.set(keys.sinkOfCursorKey(key), asCount(value, key));
    this.dropped.clear();
    for await (const [key, value] of this.db.iterator(keys.DROPPED_RANGE)) this.dropped.set(keys.sinkOfDroppedKey(key), asCount(value, key));
    this.clockCorrections.splice(0);
    for await (const value of this.db.values(keys.CLOCK_RANGE)) this.clockCorrections.push(asClockCorrection(value));
    this.droppedByReason.clear();
    for await (const [key, value] of this.db.iterator(keys.DROPPED_BY_REASON_RANGE)) {
      const { sink, reason } = keys.sinkAndReasonOfKey(key);
      this.droppedByReason.set(reasonKey(sink, reason), asCount(value, key));
    }
  }

  /** The database once any recovery has finished; throws the write failure while it cannot reopen. */
  private async ready(): Promise<Db> {
    this.assertOpen();
    if (this.state === 'recovering') await this.exclusive(() => Promise.resolve());
    if (this.state !== 'up') throw this.lastError ?? new P1Error('P1_QUEUE_IO', `queue ${this.dbDir} is not open`);
    return this.db;
  }

  recordCount(): number {
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

function reasonKey(sink: string, reason: string): string {
  return `${sink}\n${reason}`;
}

export function queueDir(dataDir: string): string {
  return join(dataDir, 'queue');
}

async function openLevel(dataDir: string, dbDir: string, createIfMissing: boolean, sizes: Pick<SpaceBudget, 'writeBufferSize' | 'maxFileSize'>): Promise<Db> {
  const db = new Level<string, unknown>(dbDir, {
    valueEncoding: 'json',
    createIfMissing,
    writeBufferSize: sizes.writeBufferSize,
    maxFileSize: sizes.maxFileSize,
    maxOpenFiles: MAX_OPEN_FILES,
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

interface ClockCorrection {
  from: number;
  to: number;
  deltaMs: number;
}

function asClockCorrection(value: unknown): ClockCorrection {
  const c = value as Partial<ClockCorrection> | null;
  if (c === null || typeof c !== 'object' || typeof c.from !== 'number' || typeof c.to !== 'number' || typeof c.deltaMs !== 'number') {
    throw new P1Error('P1_QUEUE_CORRUPT', `clock correction is not { from, to, deltaMs }: ${JSON.stringify(value)?.slice(0, 120)}`);
  }
  return { from: c.from, to: c.to, deltaMs: c.deltaMs };
}

function decodeOrUndefined(value: unknown): QueueRecord | undefined {
  try {
    return decodeRecord(value);
  } catch {
    return undefined;
  }
}

function asDeadLetter(value: unknown): StoredDeadLetter {
  const d = value as Partial<StoredDeadLetter> | null;
  if (d === null || typeof d !== 'object' || typeof d.sink !== 'string' || typeof d.reason !== 'string') {
    throw new P1Error('P1_QUEUE_IO', `dead letter is not { sink, seq, reason, parkedAt, record }: ${JSON.stringify(value).slice(0, 120)}`);
  }
  const record = recordOf(d.record);
  return { sink: d.sink, seq: record.seq, reason: d.reason, parkedAt: String(d.parkedAt), record };
}

function asCount(value: unknown, key: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new P1Error('P1_QUEUE_CORRUPT', `queue key ${key} holds ${JSON.stringify(value)}, not a count`);
  }
  return value;
}
