import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import { FRAME_SUMMARY_MS, FrameEventLog } from '../log/frame-events.js';
import { RepeatedLog } from '../log/repeated.js';
import { Queue, type QueueOptions } from '../queue/queue.js';
import { ClockWatch } from '../queue/clock-watch.js';
import type { QueueRecord } from '../queue/types.js';
import { openSource } from '../sources/open.js';
import type { ByteSource } from '../sources/source.js';
import { FrameDetector, type DetectorEvent } from '../frames/detector.js';
import type { DlmsKeys } from '../frames/gcm.js';
import { storedFrame, type StoredFrame } from '../frames/stored.js';

/** What `p1logger run` needs, as plain data: the configuration (file, env, flags) fills it. */
export interface RunSettings {
  /** Source spec (`serial:...`, `tcp:...`, `file:...`, `simulate`). */
  source: string;
  dataDir: string;
  queue: Pick<QueueOptions, 'durability' | 'groupIntervalMs' | 'maxAgeMs' | 'maxBytes' | 'minFreeBytes' | 'reserveBytes'>;
  /** The meter's keys, for a meter that encrypts (never logged). */
  keys?: DlmsKeys;
}

/** The embedded default: the simulated meter into ./data. */
export const DEFAULT_RUN_SETTINGS: RunSettings = { source: 'simulate', dataDir: './data', queue: {} };

/** Counters of the acquisition side, for logs, status and /metrics. */
export interface AcquisitionCounters {
  /** Telegrams (DSMR) and data-notifications (DLMS) that passed framing, their check and decryption. */
  telegrams: number;
  /** Of those, appended durably to the queue. */
  stored: number;
  /** Of those, the queue could not store (disk full, I/O error): lost. */
  storeFailed: number;
  crcErrors: number;
  invalid: number;
  truncated: number;
  junkBytes: number;
  /** Encrypted frames that did not authenticate or decrypt (wrong key, forged or damaged). */
  decryptErrors: number;
  /** Encrypted frames that came while no key was configured. */
  keyMissing: number;
  lastStoredSeq: number | null;
  lastTelegramAt: string | null;
}

/**
 * Something that runs beside acquisition for the life of the service (an uploader per sink, the HTTP server).
 * Started after the queue is open, in the order added; stopped after acquisition, in reverse order, before the
 * queue closes.
 */
export interface ServiceComponent {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface ServiceOptions {
  source: ByteSource;
  queue: Queue;
  logger: Logger;
  /** Called once per telegram after it is durably in the queue, in seq order. */
  onStored?: (record: QueueRecord) => void;
  keys?: DlmsKeys;
  clock?: () => Date;
}

/** Appends in flight before reading pauses: a fast file source must not outrun the disk without bound. */
const MAX_IN_FLIGHT = 1024;

/**
 * `p1logger run`: source -> framer -> queue, plus the components added around it. `finished` settles when the
 * source ends by itself (a file) or fails; `stop()` is what SIGTERM calls.
 */
export class Service {
  readonly queue: Queue;
  readonly source: ByteSource;
  readonly counters: AcquisitionCounters = {
    telegrams: 0,
    stored: 0,
    storeFailed: 0,
    crcErrors: 0,
    invalid: 0,
    truncated: 0,
    junkBytes: 0,
    decryptErrors: 0,
    keyMissing: 0,
    lastStoredSeq: null,
    lastTelegramAt: null,
  };
  private readonly log: Logger;
  private readonly onStored: ((record: QueueRecord) => void) | undefined;
  private readonly clock: () => Date;
  private readonly components: ServiceComponent[] = [];
  private readonly started: ServiceComponent[] = [];
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private acquisition: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly frameLog: FrameEventLog;
  private readonly storeLog: RepeatedLog;
  private readonly keys: DlmsKeys | undefined;
  private readonly clockWatch = new ClockWatch();

  constructor(options: ServiceOptions) {
    this.keys = options.keys;
    this.queue = options.queue;
    this.source = options.source;
    this.log = options.logger;
    this.onStored = options.onStored;
    this.clock = options.clock ?? (() => new Date());
    this.frameLog = new FrameEventLog(this.log, this.counters);
    this.storeLog = new RepeatedLog({ logger: this.log, summaryMs: FRAME_SUMMARY_MS });
  }

  add(component: ServiceComponent): this {
    this.components.push(component);
    return this;
  }

  /** Starts the components, then reading. Resolves once reading has begun. */
  async start(): Promise<void> {
    if (this.stopping) return;
    for (const component of this.components) {
      await component.start();
      this.started.push(component);
    }
    this.log.info({ source: this.source.description, dataDir: this.queue.dataDir, durability: this.queue.durability }, 'acquisition started');
    this.acquisition = this.acquire();
  }

  /** Settles when acquisition has ended: resolves when the source ended or stop() was called, rejects if it failed. */
  get finished(): Promise<void> {
    return this.acquisition ?? Promise.resolve();
  }

  /** Stops reading, waits for the appends in flight, stops the components, closes the queue. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.abort.abort();
    await this.acquisition?.catch(() => undefined);
    for (const component of this.started.splice(0).reverse()) {
      try {
        await component.stop();
      } catch (error) {
        this.log.error({ err: error, component: component.name }, 'component did not stop cleanly');
      }
    }
    await this.queue.close();
    this.frameLog.flush();
    this.storeLog.flush();
    this.log.info({ ...this.counters }, 'stopped');
  }

  private async acquire(): Promise<void> {
    const framer = new FrameDetector(this.keys === undefined ? {} : { keys: this.keys });
    try {
      for await (const chunk of this.source.read(this.abort.signal)) {
        this.handle(framer.push(chunk));
        while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
        if (this.abort.signal.aborted) break;
      }
      // A telegram cut off by stop() is not truncated data; one cut off by the end of a file is.
      if (!this.abort.signal.aborted) {
        this.handle(framer.end());
        this.log.info({ source: this.source.description }, 'source ended');
      }
    } finally {
      // Grouped durability holds appends for up to its interval: on stop, write them now instead of waiting.
      if (this.abort.signal.aborted) await this.queue.flush();
      await Promise.all(this.inFlight);
    }
  }

  private handle(events: DetectorEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'telegram':
        case 'dlms':
          this.store(storedFrame(event)!);
          break;
        case 'frame-rejected':
          if (event.code === 'P1_CRC_MISMATCH') this.counters.crcErrors++;
          else if (event.code === 'P1_DECRYPT_FAILED') this.counters.decryptErrors++;
          else if (event.code === 'P1_KEY_REQUIRED') this.counters.keyMissing++;
          else this.counters.invalid++;
          break;
        case 'detected':
          break;
        case 'rejected':
          if (event.code === 'P1_CRC_MISMATCH') this.counters.crcErrors++;
          else this.counters.invalid++;
          break;
        case 'truncated':
          this.counters.truncated++;
          break;
        case 'junk':
          this.counters.junkBytes += event.bytes;
          break;
        case 'hint':
          break;
      }
      this.frameLog.event(event);
    }
  }

  private store(frame: StoredFrame): void {
    const receivedAt = this.clock();
    // A Pi without real-time clock: when NTP sets the time, the receive times stored before are corrected.
    const jump = this.clockWatch.observe(receivedAt.getTime(), performance.now());
    if (jump !== 0) {
      this.queue.clockJumped(jump).catch((error: unknown) => this.log.error({ err: error }, 'could not note the clock jump'));
    }
    this.counters.telegrams++;
    this.counters.lastTelegramAt = receivedAt.toISOString();
    const write = this.queue.append(frame.raw, receivedAt, frame.protocol).then(
      (record) => {
        this.counters.stored++;
        this.counters.lastStoredSeq = record.seq;
        this.log.debug({ seq: record.seq }, 'stored');
        try {
          this.onStored?.(record);
        } catch (error) {
          this.log.error({ err: error }, 'stored-telegram listener failed');
        }
      },
      (error: unknown) => {
        this.counters.storeFailed++;
        // A full disk refuses every telegram until the queue has made room: the first is logged, then summaries.
        const code = error instanceof P1Error ? error.code : 'store';
        this.storeLog.log('error', code, { err: error, lost: this.counters.storeFailed }, 'telegram not stored');
      },
    );
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }
}

/** Opens the queue and the source of `settings` and wires them; the caller starts and stops the service. */
export async function createService(
  settings: RunSettings,
  options: { logger: Logger; onStored?: (record: QueueRecord) => void },
): Promise<Service> {
  const source = openSource(settings.source, { logger: options.logger, ...(settings.keys ? { keys: settings.keys } : {}) });
  const queue = await Queue.open(settings.dataDir, { ...settings.queue, logger: options.logger });
  return new Service({
    source,
    queue,
    logger: options.logger,
    ...(options.onStored ? { onStored: options.onStored } : {}),
    ...(settings.keys ? { keys: settings.keys } : {}),
  });
}
