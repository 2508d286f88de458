import { DsmrTextReader } from './dsmr-text.js';
import type { CrcStatus } from './types.js';

export type TelegramEvent = { type: 'telegram'; raw: string; crc: CrcStatus };
export type RejectedEvent = { type: 'rejected'; code: 'P1_CRC_MISMATCH' | 'P1_TELEGRAM_INVALID'; reason: string; raw: string };
export type HintCode = 'P1_PARITY_7E1';
export type HintEvent = { type: 'hint'; code: HintCode; message: string };

/** What the framer found in the byte stream, in stream order. Each hint comes at most once per framer. */
export type FrameEvent = TelegramEvent | RejectedEvent | { type: 'truncated'; bytes: number } | { type: 'junk'; bytes: number } | HintEvent;

export interface FramerStats {
  telegrams: number;
  crcErrors: number;
  invalid: number;
  truncated: number;
  junkBytes: number;
}

export interface FramerOptions {
  /** No candidate frame grows past this many bytes from its start byte (a DSMR telegram is a few KB). */
  maxTelegramBytes?: number;
}

/** What a reader made of the bytes from one of its start bytes on. */
export type FrameRead =
  /** The buffer ends before the reader can decide (never asked at the end of the stream). */
  | { kind: 'more' }
  /** Not a frame of this kind after all: the start byte is junk. */
  | { kind: 'none' }
  /** It looked like a frame but has no end within the size limit (or the stream ended first). */
  | { kind: 'cut' }
  /** A frame that failed its check (CRC, parity, structure), ending at `end`. */
  | { kind: 'rejected'; end: number; event: RejectedEvent }
  /** A reading; `hint` says something about the port the frame showed (once per framer). */
  | { kind: 'telegram'; end: number; event: TelegramEvent; hint?: HintEvent };

/**
 * One kind of frame, found by its start bytes. A reader is pure: it looks at the bytes and says what they are.
 * DSMR text is the one kind today: binary frames are found by the frame detector in front (src/frames/).
 */
export interface FrameReader {
  readonly startBytes: readonly number[];
  read(buf: Buffer, start: number, atEnd: boolean): FrameRead;
  /** The framer dropped the first `bytes` bytes of its buffer: offsets the reader kept move down. */
  discard?(bytes: number): void;
}

/** A candidate that failed: reported when no frame starting inside it is found (else it was a cut-off telegram). */
interface Failure {
  from: number;
  /** Start bytes before `end` are rescanned; for a cut-off candidate, from + 1. */
  end: number;
  /** null: cut off, reported as truncated up to the next start byte. */
  event: RejectedEvent | null;
}

/**
 * Turns a byte stream, in chunks of any size, into telegrams. A detector in front of frame readers: it looks for
 * the next start byte of any kind and lets that kind's reader decide. A candidate that fails is rescanned from its
 * next start byte, so no valid telegram behind junk or a false start is lost; bytes nothing claims are junk.
 * Pure: no I/O, no timers; `push` returns what the new bytes completed.
 */
export class TelegramFramer {
  readonly stats: FramerStats = { telegrams: 0, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: 0 };
  private readonly maxBytes: number;
  private readonly readers: readonly FrameReader[];
  private readonly readerOf: Array<FrameReader | undefined> = new Array<FrameReader | undefined>(256);
  private pending: Buffer = EMPTY;
  /** Bytes of `pending` before this offset have been reported. */
  private reported = 0;
  /** Where the search for the next start byte goes on. */
  private cursor = 0;
  private failure: Failure | null = null;
  private readonly hinted = new Set<HintCode>();

  constructor(options: FramerOptions = {}) {
    this.maxBytes = options.maxTelegramBytes ?? 64 * 1024;
    // Binary frames (HDLC, M-Bus, ciphered) are the frame detector's (src/frames/), which hands this framer text.
    this.readers = [new DsmrTextReader(this.maxBytes)];
    for (const reader of this.readers) for (const byte of reader.startBytes) this.readerOf[byte] = reader;
  }

  /** Bytes held for a candidate still open: at most the size limit plus the last chunk. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    this.scan(events, false);
    return events;
  }

  /** End of stream: every candidate still open is decided now. */
  end(): FrameEvent[] {
    const events: FrameEvent[] = [];
    this.scan(events, true);
    return events;
  }

  private scan(events: FrameEvent[], atEnd: boolean): void {
    const buf = this.pending;
    for (;;) {
      const start = this.nextStart(buf, this.cursor);
      const failure = this.failure;
      if (failure !== null && (start === -1 || start >= failure.end)) {
        this.settle(events, failure, start === -1 ? buf.length : start);
        continue;
      }
      if (start === -1) {
        this.cursor = buf.length;
        if (failure === null) this.junk(events, buf.length);
        break;
      }
      let read = this.readerOf[buf[start]!]!.read(buf, start, atEnd);
      // Whatever a reader says, no candidate outlives the stream or grows past the size limit.
      if (read.kind === 'more' && (atEnd || buf.length - start > this.maxBytes)) read = CUT;
      if (read.kind === 'none') {
        this.cursor = start + 1;
        continue;
      }
      if (failure === null) this.junk(events, start);
      if (read.kind === 'more') {
        this.cursor = start;
        break;
      }
      if (read.kind === 'rejected' || read.kind === 'cut') {
        // The first failure stands for the rest; its start bytes are tried next. Only a CRC mismatch is better
        // evidence than a failure of another kind (a trailer read in the wrong parity): it is that telegram's,
        // and what came before it was a telegram cut short.
        if (failure === null) {
          this.failure = { from: start, end: read.kind === 'cut' ? start + 1 : read.end, event: read.kind === 'cut' ? null : read.event };
        } else if (read.kind === 'rejected' && read.event.code === 'P1_CRC_MISMATCH' && failure.event?.code === 'P1_TELEGRAM_INVALID') {
          this.truncated(events, start - failure.from);
          this.reported = start;
          this.failure = { from: start, end: read.end, event: read.event };
        }
        this.cursor = start + 1;
        continue;
      }
      if (failure !== null) {
        // A frame starts inside the failed candidate: what came before it was a telegram cut short.
        this.truncated(events, start - failure.from);
        this.failure = null;
        this.reported = start;
      }
      if (read.hint !== undefined) this.hint(events, read.hint);
      this.stats.telegrams++;
      events.push(read.event);
      this.reported = read.end;
      this.cursor = read.end;
    }
    this.compact();
  }

  /** A failure with no frame inside it: reported, and scanning goes on after what it covers. */
  private settle(events: FrameEvent[], failure: Failure, nextStart: number): void {
    this.failure = null;
    if (failure.event === null) {
      this.truncated(events, nextStart - failure.from);
      this.reported = this.cursor = nextStart;
      return;
    }
    if (failure.event.code === 'P1_CRC_MISMATCH') this.stats.crcErrors++;
    else this.stats.invalid++;
    events.push(failure.event);
    this.reported = this.cursor = failure.end;
  }

  /** Keeps only the bytes not reported yet; the oldest is a candidate's start byte. */
  private compact(): void {
    const keep = this.failure?.from ?? this.reported;
    if (keep === 0) return;
    for (const reader of this.readers) reader.discard?.(keep);
    this.pending = keep >= this.pending.length ? EMPTY : Buffer.from(this.pending.subarray(keep));
    this.cursor -= keep;
    this.reported -= keep;
    if (this.failure !== null) {
      this.failure.from -= keep;
      this.failure.end -= keep;
    }
  }

  private nextStart(buf: Buffer, from: number): number {
    const readerOf = this.readerOf;
    for (let i = from; i < buf.length; i++) if (readerOf[buf[i]!] !== undefined) return i;
    return -1;
  }

  private hint(events: FrameEvent[], hint: HintEvent): void {
    if (this.hinted.has(hint.code)) return;
    this.hinted.add(hint.code);
    events.push({ ...hint });
  }

  private truncated(events: FrameEvent[], bytes: number): void {
    this.stats.truncated++;
    events.push({ type: 'truncated', bytes });
  }

  /** The bytes from the last reported one up to `until` are junk. */
  private junk(events: FrameEvent[], until: number): void {
    const bytes = until - this.reported;
    this.reported = until;
    if (bytes <= 0) return;
    this.stats.junkBytes += bytes;
    const last = events[events.length - 1];
    if (last?.type === 'junk') last.bytes += bytes;
    else events.push({ type: 'junk', bytes });
  }
}

const EMPTY = Buffer.alloc(0);
const CUT: FrameRead = { kind: 'cut' };
