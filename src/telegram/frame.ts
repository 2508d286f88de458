import { crc16, formatCrc } from './crc16.js';
import type { CrcStatus } from './types.js';

/** What the framer found in the byte stream, in stream order. */
export type FrameEvent =
  | { type: 'telegram'; raw: string; crc: CrcStatus }
  | { type: 'rejected'; code: 'P1_CRC_MISMATCH' | 'P1_TELEGRAM_INVALID'; reason: string; raw: string }
  | { type: 'truncated'; bytes: number }
  | { type: 'junk'; bytes: number }
  | { type: 'hint'; code: 'P1_PARITY_7E1'; message: string };

export interface FramerStats {
  telegrams: number;
  crcErrors: number;
  invalid: number;
  truncated: number;
  junkBytes: number;
}

export interface FramerOptions {
  /** A '/' followed by more than this many bytes without an end is dropped (a DSMR telegram is a few KB). */
  maxTelegramBytes?: number;
}

const SLASH = 0x2f;
const BANG = 0x21;
const CR = 0x0d;
const LF = 0x0a;
/** '/' with the even-parity bit set: what a 7E1 meter's start byte looks like when the port is opened 8N1. */
const SLASH_WITH_PARITY = 0xaf;
const MAX_CRC_DIGITS = 4;
const PARITY_ERROR = 0x00;

/** DSMR 4+ telegrams always carry a meter time with S/W; one that has it but no CRC lost its CRC. */
const DSMR4_TIMESTAMP = /\n0-0:1\.0\.0\(\d{12}[SWsw]\)/;
const DATA_LINE = /\n\d{1,3}-\d{1,3}:/;

/**
 * Turns a byte stream, in chunks of any size, into telegrams: from '/' to the '!' that starts a line, plus the
 * CRC digits (1-4 hex; DSMR 2.2/3 send none) and the line end. Resynchronises on anything between telegrams.
 * Pure: no I/O, no timers; `push` returns what the new bytes completed.
 */
export class TelegramFramer {
  readonly stats: FramerStats = { telegrams: 0, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: 0 };
  private readonly maxBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  /** Offset in `pending` from which the current telegram has not been searched for its end yet. */
  private scanFrom = 0;
  private inTelegram = false;
  private maskParity = false;
  private hinted = false;

  constructor(options: FramerOptions = {}) {
    this.maxBytes = options.maxTelegramBytes ?? 64 * 1024;
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // A 7E1 stream never holds a bare '/', an 8N1 stream never a '/' with bit 7 set: each switches the mode.
    if (this.maskParity) {
      if (bytes.indexOf(SLASH) !== -1) this.maskParity = false;
    } else if (bytes.indexOf(SLASH_WITH_PARITY) !== -1) {
      this.maskParity = true;
      if (!this.hinted) {
        this.hinted = true;
        events.push({
          type: 'hint',
          code: 'P1_PARITY_7E1',
          message: 'bytes carry a parity bit: this looks like a DSMR 2.2/3 meter (9600 7E1) read as 8N1; checking and stripping it',
        });
      }
    }
    if (this.maskParity) bytes = stripEvenParity(bytes);
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    this.scan(events, false);
    return events;
  }

  /** End of stream: a telegram still open is complete only if its CRC digits were all there. */
  end(): FrameEvent[] {
    const events: FrameEvent[] = [];
    this.scan(events, true);
    if (this.inTelegram && this.pending.length > 0) this.dropTruncated(events, this.pending.length);
    this.pending = Buffer.alloc(0);
    this.inTelegram = false;
    return events;
  }

  private scan(events: FrameEvent[], atEnd: boolean): void {
    const buf = this.pending;
    let pos = 0;
    for (;;) {
      if (!this.inTelegram) {
        const start = buf.indexOf(SLASH, pos);
        const junk = (start === -1 ? buf.length : start) - pos;
        if (junk > 0) this.junk(events, junk);
        if (start === -1) {
          pos = buf.length;
          break;
        }
        pos = start;
        this.inTelegram = true;
        this.scanFrom = pos + 1;
      }
      const end = this.findEnd(buf, pos, events, atEnd);
      if (end === NEED_MORE) {
        if (buf.length - pos > this.maxBytes) {
          this.dropTruncated(events, buf.length - pos);
          pos = buf.length;
          this.inTelegram = false;
          continue;
        }
        break;
      }
      pos = end;
      this.inTelegram = false;
    }
    this.scanFrom -= pos;
    this.pending = pos === 0 ? buf : pos >= buf.length ? EMPTY : Buffer.from(buf.subarray(pos));
  }

  /** Returns the offset after the telegram that starts at `start` (or after what was dropped), or NEED_MORE. */
  private findEnd(buf: Buffer, start: number, events: FrameEvent[], atEnd: boolean): number {
    let from = this.scanFrom;
    for (;;) {
      const bang = buf.indexOf(BANG, from);
      const nextSlash = buf.indexOf(SLASH, from);
      if (nextSlash !== -1 && (bang === -1 || nextSlash < bang)) {
        this.dropTruncated(events, nextSlash - start);
        return nextSlash;
      }
      if (bang === -1) {
        this.scanFrom = buf.length;
        return NEED_MORE;
      }
      // '!' ends a telegram only at the start of a line; elsewhere it is data (and the CRC will judge it).
      if (buf[bang - 1] !== LF) {
        from = bang + 1;
        continue;
      }
      this.scanFrom = bang;
      return this.finish(buf, start, bang, events, atEnd);
    }
  }

  private finish(buf: Buffer, start: number, bang: number, events: FrameEvent[], atEnd: boolean): number {
    let i = bang + 1;
    let crc = 0;
    while (i < buf.length && i - bang - 1 < MAX_CRC_DIGITS) {
      const digit = hexValue(buf[i]!);
      if (digit < 0) break;
      crc = (crc << 4) | digit;
      i++;
    }
    const digits = i - bang - 1;
    let end: number;
    if (i >= buf.length) {
      if (!atEnd) return NEED_MORE;
      // At the end of the stream a full 4-digit CRC is complete, and so is a telegram that sends none: its "!" is
      // its last byte. A DSMR 4/5 telegram (meter time with S/W) that stops at "!" was cut before its CRC.
      if (digits === 0 ? DSMR4_TIMESTAMP.test(buf.toString('latin1', start, i)) : digits < MAX_CRC_DIGITS) {
        this.dropTruncated(events, buf.length - start);
        return buf.length;
      }
      end = i;
    } else if (digits === 0 && buf[i] === SLASH) {
      // No CRC and no line end: the next telegram's "/" ends this one.
      end = i;
    } else if (buf[i] === CR || buf[i] === LF) {
      end = i + 1;
      if (buf[i] === CR) {
        if (end >= buf.length && !atEnd) return NEED_MORE;
        if (buf[end] === LF) end++;
      }
    } else {
      return this.reject(events, 'P1_TELEGRAM_INVALID', 'malformed trailer after "!"', buf, start, i + 1);
    }
    if (digits > 0) {
      const actual = crc16(buf, start, bang + 1);
      if (actual !== crc) {
        const reason = `CRC mismatch: telegram says ${buf.toString('latin1', bang + 1, i)}, bytes give ${formatCrc(actual)}`;
        return this.reject(events, 'P1_CRC_MISMATCH', reason, buf, start, end);
      }
      this.stats.telegrams++;
      events.push({ type: 'telegram', raw: buf.toString('latin1', start, end), crc: 'ok' });
      return end;
    }
    const raw = buf.toString('latin1', start, end);
    // Telegrams without a CRC have only the serial parity bit to vouch for each byte.
    if (raw.includes('\0')) return this.reject(events, 'P1_TELEGRAM_INVALID', 'parity error in a telegram without CRC', buf, start, end);
    if (!DATA_LINE.test(raw)) return this.reject(events, 'P1_TELEGRAM_INVALID', 'telegram has no data lines', buf, start, end);
    if (DSMR4_TIMESTAMP.test(raw)) return this.reject(events, 'P1_TELEGRAM_INVALID', 'DSMR 4/5 telegram without its CRC', buf, start, end);
    this.stats.telegrams++;
    events.push({ type: 'telegram', raw, crc: 'none' });
    return end;
  }

  private reject(
    events: FrameEvent[],
    code: 'P1_CRC_MISMATCH' | 'P1_TELEGRAM_INVALID',
    reason: string,
    buf: Buffer,
    start: number,
    end: number,
  ): number {
    if (code === 'P1_CRC_MISMATCH') this.stats.crcErrors++;
    else this.stats.invalid++;
    events.push({ type: 'rejected', code, reason, raw: buf.toString('latin1', start, end) });
    return end;
  }

  private dropTruncated(events: FrameEvent[], bytes: number): void {
    this.stats.truncated++;
    events.push({ type: 'truncated', bytes });
  }

  private junk(events: FrameEvent[], bytes: number): void {
    this.stats.junkBytes += bytes;
    const last = events[events.length - 1];
    if (last?.type === 'junk') last.bytes += bytes;
    else events.push({ type: 'junk', bytes });
  }
}

const NEED_MORE = -1;
const EMPTY = Buffer.alloc(0);

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  // Meters write the CRC in upper case; accepting lower case too would let a flipped case bit pass.
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/** EVEN_PARITY[b] is 1 when byte b has an even number of one bits. */
export const EVEN_PARITY = buildParityTable();

function buildParityTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (let n = 0; n < 256; n++) {
    let ones = 0;
    for (let b = n; b > 0; b >>= 1) ones += b & 1;
    table[n] = ones % 2 === 0 ? 1 : 0;
  }
  return table;
}

/** 7E1 bytes -> 7-bit ASCII; a byte with a parity error becomes NUL, which no valid telegram contains. */
function stripEvenParity(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out[i] = EVEN_PARITY[b] === 1 ? b & 0x7f : PARITY_ERROR;
  }
  return out;
}
