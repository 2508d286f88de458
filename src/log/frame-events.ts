import type { Level } from 'pino';
import type { Logger } from '../log.js';
import type { DetectorEvent, DetectorStats, StreamProtocol } from '../frames/detector.js';
import { titleText } from '../frames/payload.js';
import type { FramerStats } from '../telegram/frame.js';
import { RepeatedLog } from './repeated.js';

/** How often `run` summarises a kind of bad frame that keeps coming; the counters on /metrics are exact anyway. */
export const FRAME_SUMMARY_MS = 60_000;

export interface FrameEventLogOptions {
  /** Default FRAME_SUMMARY_MS; `p1logger read`, watched by a person, summarises sooner. */
  summaryMs?: number;
  /** Bytes between telegrams are normal on a running logger (debug) and a clue when checking a cable (warn). */
  junkLevel?: Level;
}

/**
 * The log lines about what the framer dropped (rejected and truncated telegrams, junk bytes, hints). Noise on the
 * line can make millions of these a minute (50 MB of 0xAF bytes were 52 million truncated telegrams): each kind is
 * written once, then summarised (RepeatedLog). `stats` are the counters the events were counted in: the lines say
 * the running totals.
 */
export class FrameEventLog {
  private readonly repeated: RepeatedLog;
  private readonly junkLevel: Level;

  constructor(
    logger: Logger,
    private readonly stats: Readonly<FramerStats & Partial<Pick<DetectorStats, 'decryptErrors' | 'keyMissing'>>>,
    options: FrameEventLogOptions = {},
  ) {
    this.repeated = new RepeatedLog({ logger, summaryMs: options.summaryMs ?? FRAME_SUMMARY_MS });
    this.junkLevel = options.junkLevel ?? 'debug';
  }

  event(event: DetectorEvent): void {
    switch (event.type) {
      case 'frame-rejected': {
        const total = event.code === 'P1_DECRYPT_FAILED' ? this.stats.decryptErrors : event.code === 'P1_KEY_REQUIRED' ? this.stats.keyMissing : undefined;
        const title = event.systemTitle === undefined ? {} : { systemTitle: titleText(event.systemTitle) };
        this.repeated.log('warn', event.code, { code: event.code, transport: event.transport, ...title, ...(total === undefined ? {} : { total }) }, `${event.transport} frame rejected: ${event.reason}`);
        break;
      }
      case 'detected':
        this.repeated.log('info', `detected ${event.protocol} ${event.encrypted}`, { protocol: event.protocol, encrypted: event.encrypted }, `the meter sends ${describeProtocol(event.protocol, event.encrypted)}`);
        break;
      case 'rejected':
        this.repeated.log('warn', event.code, { code: event.code, reason: event.reason, total: this.stats.crcErrors + this.stats.invalid }, `telegram rejected: ${event.reason}`);
        break;
      case 'truncated':
        this.repeated.log('warn', 'truncated', { bytes: event.bytes, total: this.stats.truncated }, `truncated telegram dropped (${event.bytes} bytes)`);
        break;
      case 'junk':
        this.repeated.log(this.junkLevel, 'junk', { bytes: event.bytes, total: this.stats.junkBytes }, `${event.bytes} junk bytes skipped (not part of a telegram)`);
        break;
      case 'hint':
        this.repeated.log('warn', event.code, { code: event.code }, event.message);
        break;
      case 'telegram':
      case 'dlms':
        break;
    }
  }

  /** Writes the summaries still counted: at the end of a stream, before the final counters. */
  flush(): void {
    this.repeated.flush();
  }
}

/** How a stream's protocol reads in a log line. */
export function describeProtocol(protocol: StreamProtocol, encrypted: boolean): string {
  const names = { dsmr: 'DSMR text telegrams', 'dsmr-encrypted': 'encrypted DSMR telegrams (Luxembourg Smarty)', hdlc: 'DLMS in HDLC frames', mbus: 'DLMS in wired M-Bus frames' };
  return `${names[protocol]}${encrypted && protocol !== 'dsmr-encrypted' ? ', encrypted' : ''}`;
}
