import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { silentLogger, type Logger } from '../log.js';
import type { QueueRecord, TelegramLog } from '../queue/types.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from './retry-policy.js';
import { isSinkError, type PublishPolicy, type SendResult, type Sink, type SinkError } from '../sinks/sink.js';

/** ok: delivering; retrying: transient failures (network, 5xx, 429) being retried; failing: refused (401/403/404). */
export type SinkState = 'ok' | 'retrying' | 'failing';

/** Per-sink figures for the status page and /metrics; lag comes from the queue's status. */
export interface UploaderStats {
  name: string;
  /** The sink spec without credentials. */
  sink: string;
  state: SinkState;
  /** Last acknowledged seq. */
  cursor: number;
  /** Records delivered since start (parked ones not included). */
  sent: number;
  /** Points (lines, datapoints) those became. */
  points: number;
  requests: number;
  /** Failed attempts since start that were retried. */
  retries: number;
  /** Records parked for this sink, in the queue. */
  deadLetters: number;
  /** Records passed over since start because the sink takes only the latest (`publish: latest`). */
  skipped: number;
  /** Message of the last failure: sink, status, the server's reason; never a credential. */
  lastError: string | null;
  lastErrorCode: string | null;
  lastErrorAt: string | null;
  lastSuccessAt: string | null;
}

export interface DeliveryHooks {
  sink: Sink;
  signal: AbortSignal;
  policy: RetryPolicy;
  random?: () => number;
  /** True to stop retrying and throw the error (a one-off command); the service never gives up. */
  giveUp?(error: SinkError | Error, attempt: number): boolean;
  /** A failed attempt that will be retried after `delayMs`. */
  onRetry?(error: SinkError | Error, attempt: number, delayMs: number): void;
  onSuccess?(result: SendResult, records: readonly QueueRecord[]): void;
  /** A record the sink refuses on its own (400/413/422): park it, count it. */
  onRejected(record: QueueRecord, error: SinkError): Promise<void>;
}

/**
 * Sends with p-retry until it works or the signal aborts: transient failures (P1_SINK_UNAVAILABLE, and anything
 * unclassified) with exponential backoff and full jitter, Retry-After honoured; 401/403 slowly, at about the
 * cap; 404 within 30 s for 5 minutes (a database being created), then slowly. A rejection (P1_SINK_REJECTED) is not retried: it is thrown for `deliver` to isolate.
 */
async function sendRetrying(attempt: () => Promise<SendResult>, hooks: DeliveryHooks, beforeRetry?: () => Promise<void>): Promise<SendResult> {
  let firstNotFoundAt: number | undefined;
  return pRetry(attempt, {
    retries: Number.POSITIVE_INFINITY,
    // The delay is ours (retry-policy.ts), waited for in shouldRetry: p-retry's own would not honour Retry-After.
    minTimeout: 0,
    maxTimeout: 0,
    signal: hooks.signal,
    shouldRetry: async ({ error, attemptNumber }) => {
      if (isSinkError(error) && error.code === 'P1_SINK_REJECTED') return false;
      if (hooks.giveUp?.(error, attemptNumber) === true) return false;
      const code = isSinkError(error) ? error.code : undefined;
      if (code === 'P1_SINK_NOT_FOUND') firstNotFoundAt ??= Date.now();
      const kind = code === 'P1_SINK_AUTH' ? 'slow' : code === 'P1_SINK_NOT_FOUND' ? 'not-found' : 'transient';
      const delayMs = retryDelay(
        {
          attempt: attemptNumber,
          kind,
          retryAfterMs: isSinkError(error) ? error.retryAfterMs : undefined,
          ...(firstNotFoundAt === undefined ? {} : { failingForMs: Date.now() - firstNotFoundAt }),
        },
        hooks.policy,
        hooks.random,
      );
      hooks.onRetry?.(error, attemptNumber, delayMs);
      await sleep(delayMs, undefined, { signal: hooks.signal });
      await beforeRetry?.();
      return true;
    },
  });
}

/**
 * Delivers every record or parks it. When the server refuses a batch (400/413/422), the batch is split in halves
 * and each half sent again, down to the single records it refuses: those are parked with the server's reason, and
 * everything else arrives. A few bad records cost about 2·log2(batch) extra requests each.
 */
export async function deliver(records: readonly QueueRecord[], hooks: DeliveryHooks, failedOnce?: Error): Promise<void> {
  if (records.length === 0) return;
  // An attempt that already failed (a pipelined send, below) counts as the first: its backoff and Retry-After hold.
  let known = failedOnce;
  const attempt = (): Promise<SendResult> => {
    if (known === undefined) return hooks.sink.send(records, hooks.signal);
    const error = known;
    known = undefined;
    return Promise.reject(error);
  };
  try {
    const result = await sendRetrying(attempt, hooks);
    hooks.onSuccess?.(result, records);
  } catch (error) {
    if (!isSinkError(error) || error.code !== 'P1_SINK_REJECTED' || hooks.signal.aborted) throw error;
    if (records.length === 1) {
      await hooks.onRejected(records[0]!, error);
      return;
    }
    const middle = Math.ceil(records.length / 2);
    await deliver(records.slice(0, middle), hooks);
    await deliver(records.slice(middle), hooks);
  }
}

/** A batch on the way. Pipelined: `done` says the sink's result, or the error the loop then retries. */
interface InFlightBatch {
  records: readonly QueueRecord[];
  last: number;
  failed: boolean;
  done: Promise<{ result?: SendResult; error?: Error }>;
}

export interface UploaderOptions {
  /** The sink's name: its cursor and dead letters are kept under it. */
  name: string;
  sink: Sink;
  log: TelegramLog;
  /** Records per send; capped at what the sink's API admits. Default 500 (see DEFAULT_BATCH_RECORDS). */
  batchSize?: number;
  retry?: Partial<RetryPolicy>;
  /** `all` (default): every record, in order; `latest`: only the newest, the backlog skipped and counted. */
  publish?: PublishPolicy;
  /** While caught up, how often to look for new records when nobody calls notify(). Default 1000 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
  random?: () => number;
}

/**
 * Measured (scripts/bench-drain.ts): with two batches on the way, 500-1,000 telegrams a batch drain faster than
 * 5,000, and 500 keeps a draining service under 150 MB (a batch of parsed telegrams is what the heap holds).
 */
export const DEFAULT_BATCH_RECORDS = 500;

/** Transient failures are logged at warn on the first attempt and every this many after; the rest at debug. */
const LOG_EVERY = 10;

/**
 * The drain loop of one sink: read a batch after the sink's cursor, deliver it, acknowledge it (the cursor advances
 * in one write), repeat; wait for new records when caught up. Each sink has its own loop and cursor, so a slow or
 * broken sink holds back no other. A crash between delivery and ack re-sends that batch, which the sinks absorb
 * (same telegram -> same points, and the servers overwrite).
 */
export class Uploader {
  readonly name: string;
  private readonly sink: Sink;
  private readonly log: TelegramLog;
  private readonly batchSize: number;
  private readonly policy: RetryPolicy;
  private readonly pollIntervalMs: number;
  private readonly pipeline: number;
  private readonly publish: PublishPolicy;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly figures: UploaderStats;
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private notified = false;

  constructor(options: UploaderOptions) {
    this.name = options.name;
    this.sink = options.sink;
    this.log = options.log;
    this.batchSize = Math.max(1, Math.min(options.batchSize ?? DEFAULT_BATCH_RECORDS, options.sink.maxBatchRecords));
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.pipeline = Math.max(1, options.sink.maxInFlight);
    this.publish = options.publish ?? 'all';
    this.logger = (options.logger ?? silentLogger()).child({ component: 'uploader', sink: options.name });
    this.random = options.random ?? Math.random;
    this.figures = {
      name: options.name,
      sink: options.sink.description,
      state: 'ok',
      cursor: 0,
      sent: 0,
      points: 0,
      requests: 0,
      retries: 0,
      deadLetters: 0,
      skipped: 0,
      lastError: null,
      lastErrorCode: null,
      lastErrorAt: null,
      lastSuccessAt: null,
    };
  }

  /** Starts draining in the background (the returned promise does not wait for the loop). Idempotent. */
  start(): void {
    if (this.running !== undefined) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
  }

  /** Stops: an unacknowledged batch in flight is abandoned, and sent again on the next start. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.running = undefined;
    await this.sink.close();
  }

  /** New records were stored: look now rather than at the next poll. */
  notify(): void {
    this.notified = true;
    this.wake?.();
  }

  stats(): UploaderStats {
    return { ...this.figures };
  }

  private async run(signal: AbortSignal): Promise<void> {
    this.logger.info({ target: this.sink.description, batchSize: this.batchSize }, 'uploader started');
    let cursor: number | undefined;
    let failures = 0;
    const hooks: DeliveryHooks = {
      sink: this.sink,
      signal,
      policy: this.policy,
      random: this.random,
      onRetry: (error, attempt, delayMs) => this.onRetry(error, attempt, delayMs),
      onSuccess: (result, records) => this.onSuccess(result, records),
      onRejected: (record, error) => this.onRejected(record, error),
    };
    try {
      this.figures.deadLetters = (await this.log.deadLetters(this.name)).length;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not count dead letters');
    }
    while (!signal.aborted) {
      const inFlight: InFlightBatch[] = [];
      try {
        cursor ??= await this.log.cursor(this.name);
        this.figures.cursor = cursor;
        if (this.publish === 'latest') {
          cursor = await this.deliverNewest(cursor, hooks);
          failures = 0;
          await this.idle(signal);
          continue;
        }
        let readTo = cursor;
        for (;;) {
          // Up to `pipeline` batches on the way while the sink is healthy (our parsing overlaps the server's
          // writing), one while it fails, none after one of them failed. Acks stay in order: the cursor never
          // passes an unsent batch.
          while (inFlight.length < (this.figures.state === 'ok' ? this.pipeline : 1) && !inFlight.some((batch) => batch.failed)) {
            const records = await this.log.readAfter(readTo, this.batchSize);
            if (records.length === 0) break;
            readTo = records[records.length - 1]!.seq;
            inFlight.push(this.launch(records, hooks));
          }
          const head = inFlight.shift();
          if (head === undefined) break;
          const { result, error } = await head.done;
          if (error !== undefined) {
            // The batches behind it are given up (sent again after it: duplicates the sinks absorb) and it is
            // retried alone, so the sink gets the records in order, with its backoff and Retry-After.
            await Promise.all(inFlight.map((batch) => batch.done));
            inFlight.length = 0;
            readTo = head.last;
            await deliver(head.records, hooks, error);
          } else if (result !== undefined) {
            this.onSuccess(result, head.records);
          }
          await this.log.ack(this.name, head.last);
          cursor = head.last;
          this.figures.cursor = head.last;
          failures = 0;
        }
        await this.idle(signal);
      } catch (error) {
        await Promise.allSettled(inFlight.map((batch) => batch.done));
        if (signal.aborted) break;
        // The queue failed (disk full, recovering) or a sink threw what it should not: wait, then start again
        // from the durable cursor (what was in flight is sent again, which the sinks absorb).
        failures++;
        cursor = undefined;
        this.logger.error({ err: error }, 'uploader: reading, parking or acknowledging failed; trying again');
        await sleep(backoffDelay(failures, this.policy, this.random), undefined, { signal }).catch(() => undefined);
      }
    }
    this.logger.info({ cursor: this.figures.cursor, sent: this.figures.sent }, 'uploader stopped');
  }

  /**
   * Starts delivering a batch. Pipelined, it is sent once, without retrying: a batch behind it must not be retried
   * on its own, or it could reach the sink before this one. Its `done` rejects only when stopping (or when parking
   * failed); a pipelined send's outcome is counted when the loop acknowledges it, so a batch given up is not.
   */
  private launch(records: readonly QueueRecord[], hooks: DeliveryHooks): InFlightBatch {
    const batch: InFlightBatch = { records, last: records[records.length - 1]!.seq, failed: false, done: Promise.resolve({}) };
    batch.done =
      this.pipeline === 1
        ? deliver(records, hooks).then(() => ({}))
        : this.sink.send(records, hooks.signal).then(
            (result) => ({ result }),
            (error: unknown) => {
              if (hooks.signal.aborted) throw error;
              batch.failed = true;
              return { error: error instanceof Error ? error : new Error(String(error)) };
            },
          );
    // Handled here so that it is not "unhandled" while an earlier batch is awaited; awaited in the loop.
    batch.done.catch(() => undefined);
    return batch;
  }

  /**
   * `publish: latest`: sends only the newest record and acknowledges everything up to it, counting what it passed
   * over (records retention removed first are counted as dropped instead). Each attempt sends what is newest at
   * that moment, so after an outage the sink gets one reading, the current one, not the one that was newest when
   * the outage began.
   */
  private async deliverNewest(cursor: number, hooks: DeliveryHooks): Promise<number> {
    let newest = await this.log.newest();
    while (newest !== null && newest.seq > cursor) {
      let record = newest;
      try {
        const result = await sendRetrying(() => this.sink.send([record], hooks.signal), hooks, async () => {
          record = (await this.log.newest()) ?? record;
        });
        this.onSuccess(result, [record]);
      } catch (error) {
        if (!isSinkError(error) || error.code !== 'P1_SINK_REJECTED' || hooks.signal.aborted) throw error;
        await this.onRejected(record, error);
      }
      const oldest = (await this.log.readAfter(cursor, 1))[0];
      const skipped = oldest === undefined ? 0 : Math.max(0, record.seq - oldest.seq);
      await this.log.ack(this.name, record.seq);
      cursor = record.seq;
      this.figures.cursor = cursor;
      if (skipped > 0) {
        this.figures.skipped += skipped;
        this.logger.info({ skipped, seq: record.seq }, 'sent the newest telegram only (publish: latest); the older ones are skipped');
      }
      newest = await this.log.newest();
    }
    return cursor;
  }

  private idle(signal: AbortSignal): Promise<void> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        this.notified = false;
        resolve();
      };
      const timer = setTimeout(done, this.pollIntervalMs);
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private onRetry(error: SinkError | Error, attempt: number, delayMs: number): void {
    const code = isSinkError(error) ? error.code : 'P1_SINK_UNAVAILABLE';
    const failing = code === 'P1_SINK_AUTH' || code === 'P1_SINK_NOT_FOUND';
    const context = { code, attempt, retryInMs: delayMs, error: error.message };
    if (failing) {
      // Loud once per cause: the sink stays down until someone fixes its configuration.
      if (this.figures.state !== 'failing' || this.figures.lastErrorCode !== code) {
        this.logger.error(context, 'sink refuses p1logger (credentials, URL, bucket, database or feed); retrying slowly until fixed');
      } else {
        this.logger.debug(context, 'sink still refusing');
      }
    } else if (attempt === 1 || attempt % LOG_EVERY === 0) {
      this.logger.warn(context, 'sink unavailable; retrying with backoff');
    } else {
      this.logger.debug(context, 'sink unavailable; retrying with backoff');
    }
    this.figures.state = failing ? 'failing' : 'retrying';
    this.figures.retries++;
    this.noteError(code, error.message);
  }

  private onSuccess(result: SendResult, records: readonly QueueRecord[]): void {
    if (this.figures.state !== 'ok') {
      this.logger.info({ after: this.figures.lastErrorCode, retries: this.figures.retries }, 'sink is delivering again');
      this.figures.state = 'ok';
    }
    this.figures.sent += records.length;
    this.figures.points += result.points;
    this.figures.requests += result.requests;
    this.figures.lastSuccessAt = new Date().toISOString();
  }

  private async onRejected(record: QueueRecord, error: SinkError): Promise<void> {
    await this.log.park(this.name, record, error.reason);
    this.figures.deadLetters++;
    this.noteError(error.code, error.message);
    this.logger.warn({ seq: record.seq, reason: error.reason }, 'sink refused a record; parked as a dead letter');
  }

  private noteError(code: string, message: string): void {
    this.figures.lastError = message;
    this.figures.lastErrorCode = code;
    this.figures.lastErrorAt = new Date().toISOString();
  }
}
