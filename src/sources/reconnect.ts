import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log/repeated.js';
import { FrameDetector, provesLine } from '../frames/detector.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { SourceState, SourceStats } from './source.js';
import { wait } from './wait.js';

export interface LinkHandlers {
  data(chunk: Buffer): void;
  /** Called at most once: why the link ended (a P1Error with the reason). */
  end(reason: P1Error): void;
}

/** One open connection to a meter (a serial port, a TCP socket), adapted to a tiny push interface. */
export interface Link {
  start(handlers: LinkHandlers): void;
  /** Backpressure: the reader is behind. */
  pause(): void;
  resume(): void;
  /** Releases the device or socket; safe to call more than once. */
  close(): void;
}

export interface ReconnectOptions {
  /** For log lines: the spec. */
  description: string;
  logger: Logger;
  stats: SourceStats;
  /** No complete frame for this long drops the link and opens it again (read on every link: auto-detection shortens it). */
  silenceMs: () => number;
  backoff: BackoffPolicy;
  random?: () => number;
  /** Opens a link; throws a P1Error that says what is wrong (not found, permission, refused...). Gives up when `signal` aborts. */
  connect(signal: AbortSignal): Promise<Link>;
  /** Every telegram seen on a link; `parityHint` when the bytes carried a 7E1 parity bit. */
  onTelegram?(info: { parityHint: boolean }): void;
  /** What silence means: 'now' reconnects at once (auto-detection moving to the next settings), 'backoff' waits. */
  onSilence?(): 'now' | 'backoff';
}

/** A problem that stays (a meter unplugged for a day) is said once, then summarised this often. */
const PROBLEM_SUMMARY_MS = 3_600_000;
const HIGH_WATER_CHUNKS = 64;
const LOW_WATER_CHUNKS = 8;

/**
 * Yields the bytes of a link, and when the link fails, is closed by the peer or falls silent, opens it again
 * with capped exponential backoff and jitter — forever, until `signal` aborts. Never throws for I/O failures:
 * they become log lines (one per change of state or of problem) and `stats`.
 */
export async function* readWithReconnect(options: ReconnectOptions, signal: AbortSignal): AsyncGenerator<Buffer> {
  const { logger, stats, description } = options;
  const random = options.random ?? Math.random;
  let attempt = 0;
  let opened = false;
  // Each retry of the same problem is a debug line, so the cycle can be followed when asked for.
  const problems = new RepeatedLog({ logger, summaryMs: PROBLEM_SUMMARY_MS, repeatLevel: 'debug' });

  const setState = (state: SourceState): void => {
    stats.state = state;
  };
  const problem = (error: P1Error, retryInMs: number): void => {
    const text = `${error.code}: ${error.message}`;
    stats.lastError = text;
    // One line per new problem: a meter that stays unplugged for a day does not fill the journal.
    problems.log('warn', text, { source: description, code: error.code, retryInMs }, `${description}: ${error.message}; retrying`);
  };

  try {
    while (!signal.aborted) {
      setState('connecting');
      let link: Link;
      try {
        link = await options.connect(signal);
      } catch (error) {
        if (signal.aborted) break;
        const reason = asP1Error(error);
        const delay = backoffDelay(attempt++, options.backoff, random);
        setState('waiting');
        problem(reason, delay);
        await wait(delay, signal);
        continue;
      }
      if (signal.aborted) {
        link.close();
        break;
      }
      if (opened) stats.reconnects++;
      opened = true;
      setState('open');
      // While the same problem repeats (an adapter without a meter behind it: open, silence, open...), the
      // cycle is logged at debug level; the problem itself was said once.
      const level = problems.active ? 'debug' : 'info';
      logger[level]({ source: description, settings: stats.settings, reconnects: stats.reconnects }, `${description}: open`);

      const outcome: { reason?: P1Error } = {};
      yield* pump(link, options, signal, outcome, () => {
        attempt = 0;
        if (problems.active) {
          problems.forget();
          logger.info({ source: description, settings: stats.settings }, `${description}: telegrams arriving again`);
        }
      });
      if (signal.aborted) break;
      const reason = outcome.reason ?? new P1Error('P1_SOURCE_CLOSED', 'the link closed');
      const now = reason.code === 'P1_SOURCE_SILENT' && options.onSilence?.() === 'now';
      const delay = now ? 0 : backoffDelay(attempt++, options.backoff, random);
      setState('waiting');
      problem(reason, delay);
      if (delay > 0) await wait(delay, signal);
    }
  } finally {
    problems.forget();
    if (stats.state !== 'closed') {
      setState('closed');
      logger.info({ source: description }, `${description}: closed`);
    }
  }
}

/** Yields one link's chunks until it ends, falls silent or `signal` aborts; records why in `outcome`. */
async function* pump(
  link: Link,
  options: ReconnectOptions,
  signal: AbortSignal,
  outcome: { reason?: P1Error },
  onHealthy: () => void,
): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let paused = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const finish = (reason: P1Error | undefined): void => {
    if (ended) return;
    ended = true;
    if (reason !== undefined) outcome.reason = reason;
    notify();
  };
  const silenceMs = options.silenceMs();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => finish(new P1Error('P1_SOURCE_SILENT', `no complete telegram for ${formatSeconds(silenceMs)}`)),
      silenceMs,
    );
  };
  // The watchdog frames a copy of the stream only to know that whole frames still arrive (no keys needed: an
  // encrypted frame that passed its CRC proves the line as well as a readable one).
  const framer = new FrameDetector();
  let parityHint = false;
  signal.addEventListener('abort', notify);
  arm();
  link.start({
    data: (chunk) => {
      if (ended) return;
      queue.push(chunk);
      if (!paused && queue.length >= HIGH_WATER_CHUNKS) {
        paused = true;
        link.pause();
      }
      notify();
    },
    end: (reason) => finish(reason),
  });
  try {
    for (;;) {
      if (signal.aborted) return;
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (paused && queue.length <= LOW_WATER_CHUNKS) {
          paused = false;
          link.resume();
        }
        options.stats.bytes += chunk.length;
        for (const event of framer.push(chunk)) {
          if (event.type === 'hint') parityHint ||= event.code === 'P1_PARITY_7E1';
          else if (provesLine(event)) {
            onHealthy();
            arm();
            options.onTelegram?.({ parityHint });
          }
        }
        yield chunk;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', notify);
    ended = true;
    link.close();
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function asP1Error(error: unknown): P1Error {
  if (error instanceof P1Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new P1Error('P1_SOURCE_UNAVAILABLE', message, { cause: error });
}
