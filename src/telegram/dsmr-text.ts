import { crc16, formatCrc } from './crc16.js';
import type { FrameRead, FrameReader, HintEvent } from './frame.js';

const SLASH = 0x2f;
/** '/' with the even-parity bit set: how a 7E1 meter's start byte reads on a port opened 8N1. */
const SLASH_7E1 = 0xaf;
const BANG = 0x21;
const CR = 0x0d;
const LF = 0x0a;
const MAX_CRC_DIGITS = 4;
const PARITY_ERROR = 0x00;

/** DSMR 4+ telegrams always carry a meter time with S/W; one that has it but no CRC lost its CRC. */
const DSMR4_TIMESTAMP = /\n0-0:1\.0\.0\(\d{12}[SWsw]\)/;
/** So do DSMR 4+ and e-MUCS telegrams, which open with their version: their first lines without CRC were cut off. */
const DSMR4_VERSION = /\n(?:1-3:0\.2\.8|0-0:96\.1\.4)\(/;
const DATA_LINE = /\n\d{1,3}-\d{1,3}:/;
/** The start of another telegram's identification line ('/' and a manufacturer's three letters). */
const ANOTHER_HEADER = /\/[A-Za-z]{3}/;

const MORE: FrameRead = { kind: 'more' };
const NONE: FrameRead = { kind: 'none' };
const CUT: FrameRead = { kind: 'cut' };

const PARITY_HINT: HintEvent = {
  type: 'hint',
  code: 'P1_PARITY_7E1',
  message: 'a telegram came with parity bits: this looks like a DSMR 2.2/3 meter (9600 7E1) read as 8N1; its parity is checked and stripped',
};

/**
 * DSMR / IEC 62056-21 text telegrams: from '/' to the '!' that starts a line, plus the CRC digits (1-4 hex; DSMR
 * 2.2/3 send none) and the line end. Each telegram's own start byte says how it was sent: '/' is 8N1, 0xAF is
 * 7E1 read at 8N1, whose parity is then checked on every byte and stripped. A telegram without CRC has nothing but
 * its parity and its shape to vouch for it, so its shape is checked line by line.
 */
export class DsmrTextReader implements FrameReader {
  readonly startBytes = [SLASH, SLASH_7E1];
  /** No '!' starts a line in [clearFrom, clearTo); `bang` is at clearTo, or -1 when clearTo is the buffer's end. */
  private clearFrom = 0;
  private clearTo = 0;
  private bang = -1;

  constructor(private readonly maxBytes: number) {}

  discard(bytes: number): void {
    this.clearFrom -= bytes;
    this.clearTo -= bytes;
    if (this.bang !== -1) this.bang -= bytes;
  }

  read(buf: Buffer, start: number, atEnd: boolean): FrameRead {
    const sevenBit = buf[start] === SLASH_7E1;
    if (start + 1 >= buf.length) return atEnd ? CUT : MORE;
    // An identification line begins with the manufacturer's letters; a '/' in a value or a date does not.
    if (!isLetter(textByte(buf[start + 1]!, sevenBit))) return NONE;
    const bang = this.findBang(buf, start + 1);
    const limit = start + this.maxBytes;
    if (bang === -1 || bang >= limit) return bang !== -1 || buf.length > limit || atEnd ? CUT : MORE;
    return this.finish(buf, start, bang, atEnd, sevenBit);
  }

  /** The first '!' at a line start from `from` on, or -1; what was searched is remembered across calls. */
  private findBang(buf: Buffer, from: number): number {
    let pos = from;
    if (from >= this.clearFrom && from <= this.clearTo) {
      if (this.bang !== -1) return this.bang;
      pos = this.clearTo;
    } else {
      this.clearFrom = from;
    }
    for (;;) {
      const bang = buf.indexOf(BANG, pos);
      if (bang === -1) {
        this.clearTo = buf.length;
        this.bang = -1;
        return -1;
      }
      // '!' ends a telegram only at the start of a line; elsewhere it is data (and the CRC will judge it).
      if (buf[bang - 1] === LF) {
        this.clearTo = bang;
        this.bang = bang;
        return bang;
      }
      pos = bang + 1;
    }
  }

  private finish(buf: Buffer, start: number, bang: number, atEnd: boolean, sevenBit: boolean): FrameRead {
    // Cut short by another telegram, this candidate is judged no further: its trailer and CRC are that one's.
    // Another start byte inside is rare: only then is it looked at (the header line ends before the '!' line).
    const inner = sevenBit ? nextStartByte(buf, start + 1, bang) : nextSlash(buf, start + 1, bang);
    const headerEnd = inner === -1 ? -1 : buf.indexOf(LF, start);
    if (inner !== -1 && this.startsInBody(buf, Math.max(inner, headerEnd), bang, sevenBit)) return CUT;
    let i = bang + 1;
    let crc = 0;
    while (i < buf.length && i - bang - 1 < MAX_CRC_DIGITS) {
      const digit = hexValue(textByte(buf[i]!, sevenBit));
      if (digit < 0) break;
      crc = (crc << 4) | digit;
      i++;
    }
    const digits = i - bang - 1;
    let end: number;
    if (i >= buf.length) {
      if (!atEnd) return MORE;
      // At the end of the stream a full 4-digit CRC is complete, and so is a telegram that sends none: its "!" is
      // its last byte. A DSMR 4/5 telegram (meter time with S/W) that stops at "!" was cut before its CRC.
      if (digits === 0 ? isDsmr4(textOf(buf, start, i, sevenBit)) : digits < MAX_CRC_DIGITS) return CUT;
      end = i;
    } else {
      const c = textByte(buf[i]!, sevenBit);
      if (c === CR || c === LF) {
        end = i + 1;
        if (c === CR) {
          if (end >= buf.length && !atEnd) return MORE;
          if (end < buf.length && textByte(buf[end]!, sevenBit) === LF) end++;
        }
      } else if (digits === 0 && (buf[i] === SLASH || buf[i] === SLASH_7E1)) {
        end = i; // no CRC and no line end: the next telegram's start byte ends this one
      } else {
        return rejected('P1_TELEGRAM_INVALID', 'malformed trailer after "!"', textOf(buf, start, i + 1, sevenBit), i + 1);
      }
    }
    const text = sevenBit ? stripEvenParity(buf, start, end) : buf;
    const from = sevenBit ? 0 : start;
    const to = end - start + from;
    const raw = text.toString('latin1', from, to);
    if (digits > 0) {
      const actual = crc16(text, from, bang - start + from + 1);
      if (actual !== crc) {
        const sent = raw.slice(bang - start + 1, bang - start + 1 + digits);
        return rejected('P1_CRC_MISMATCH', `CRC mismatch: telegram says ${sent}, bytes give ${formatCrc(actual)}`, raw, end);
      }
      const joined = inner !== -1 && inner < headerEnd ? this.startsInHeader(buf, start, headerEnd, atEnd) : false;
      if (joined !== false) return joined === 'more' ? MORE : CUT;
      return telegram(raw, 'ok', end, sevenBit);
    }
    const problem = uncheckedTelegramProblem(raw, bang - start);
    if (problem !== null) return rejected('P1_TELEGRAM_INVALID', problem, raw, end);
    return telegram(raw, 'none', end, sevenBit);
  }

  /**
   * Whether another telegram starts in the lines [from, bang): a start byte and a letter on a line that is no
   * `...)` line, as where a telegram was cut short and the next one followed (a '/' in a value is data).
   */
  private startsInBody(buf: Buffer, from: number, bang: number, sevenBit: boolean): boolean {
    // In 8N1 text only a '/' can start another telegram that this one's checks would let through (a 7E1 one ends
    // in a trailer 8N1 cannot read); '/' alone is also what memchr finds fastest, on the path every telegram takes.
    const next = sevenBit ? nextStartByte : nextSlash;
    for (let at = next(buf, from, bang); at !== -1; at = next(buf, at + 1, bang)) {
      const innerSevenBit = buf[at] === SLASH_7E1;
      if (isLetter(textByte(buf[at + 1]!, innerSevenBit)) && !endsObjectLine(buf, at, innerSevenBit)) return true;
    }
    return false;
  }

  /**
   * Whether a telegram with CRC of its own starts in the header line (start, headerEnd). Headers may hold '/', so
   * only its CRC tells: a telegram cut short in its header and joined to the next passes the joined CRC once in
   * 65,536, and the next one's own CRC is then the better witness. 'more': not known yet.
   */
  private startsInHeader(buf: Buffer, start: number, headerEnd: number, atEnd: boolean): boolean | 'more' {
    for (let at = nextStartByte(buf, start + 1, headerEnd); at !== -1; at = nextStartByte(buf, at + 1, headerEnd)) {
      const read = this.read(buf, at, atEnd);
      if (read.kind === 'more') return 'more';
      if (read.kind === 'telegram' && read.event.crc === 'ok') return true;
    }
    return false;
  }
}

/** The first DSMR start byte in buf[from, to), or -1. */
function nextStartByte(buf: Buffer, from: number, to: number): number {
  if (from >= to) return -1;
  const inside = buf.subarray(from, to);
  const slash = inside.indexOf(SLASH);
  const slash7 = inside.indexOf(SLASH_7E1);
  const at = slash === -1 ? slash7 : slash7 === -1 ? slash : Math.min(slash, slash7);
  return at === -1 ? -1 : from + at;
}

/** The first '/' in buf[from, to), or -1 (without a subarray: the next '/' is mostly the next telegram's). */
function nextSlash(buf: Buffer, from: number, to: number): number {
  const at = buf.indexOf(SLASH, from);
  return at < to ? at : -1;
}

/** Whether the line holding buf[at] ends with ')' (the line feed comes before the '!' line, so it is there). */
function endsObjectLine(buf: Buffer, at: number, sevenBit: boolean): boolean {
  let end = buf.indexOf(LF, at);
  while (end > at && isBlank(textByte(buf[end - 1]!, sevenBit))) end--;
  return textByte(buf[end - 1]!, sevenBit) === 0x29; /* ) */
}

function telegram(raw: string, crc: 'ok' | 'none', end: number, sevenBit: boolean): FrameRead {
  const event = { type: 'telegram', raw, crc } as const;
  return sevenBit ? { kind: 'telegram', end, event, hint: PARITY_HINT } : { kind: 'telegram', end, event };
}

function rejected(code: 'P1_CRC_MISMATCH' | 'P1_TELEGRAM_INVALID', reason: string, raw: string, end: number): FrameRead {
  return { kind: 'rejected', end, event: { type: 'rejected', code, reason, raw } };
}

/**
 * Why a telegram without CRC (raw, its '!' at `bang`) is not a reading, or null. Parity (when read as 7E1) and
 * the shape of every line are all that vouch for it: a telegram cut short and joined to the next shows as a line
 * that is no `REFERENCE(value)...` line, or as another telegram's header inside its own.
 */
function uncheckedTelegramProblem(raw: string, bang: number): string | null {
  if (raw.includes('\0')) return 'parity error in a telegram without CRC';
  if (isDsmr4(raw)) return 'DSMR 4/5 telegram without its CRC';
  let lineEnd = raw.indexOf('\n');
  if (ANOTHER_HEADER.test(raw.slice(1, lineEnd))) return 'another telegram starts in its header line';
  let line = 1;
  for (let pos = lineEnd + 1; pos < bang; pos = lineEnd + 1) {
    line++;
    lineEnd = raw.indexOf('\n', pos);
    let end = lineEnd;
    while (end > pos && isBlank(raw.charCodeAt(end - 1))) end--;
    if (end > pos && !isObjectLine(raw, pos, end)) return `malformed line ${line} in a telegram without CRC`;
  }
  if (!DATA_LINE.test(raw)) return 'telegram has no data lines';
  return null;
}

/** A DSMR 4+ / e-MUCS telegram, which always has a CRC: by its meter time with S/W or its version line. */
function isDsmr4(text: string): boolean {
  return DSMR4_TIMESTAMP.test(text) || DSMR4_VERSION.test(text);
}

/** `REFERENCE(...)...(...)`, or `(...)` (the DSMR 2.2/3 gas value on its own line). */
function isObjectLine(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(end - 1) !== 0x29 /* ) */) return false;
  const open = text.indexOf('(', start);
  if (open >= end) return false;
  for (let i = start; i < open; i++) if (!isReferenceChar(text.charCodeAt(i))) return false;
  return true;
}

function isReferenceChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x3a) /* 0-9 : */ || c === 0x2d /* - */ || c === 0x2e /* . */ || c === 0x2a /* * */ || c === 0x5f; /* _ */
}

function isBlank(c: number): boolean {
  return c === CR || c === 0x20 || c === 0x09;
}

/** An ASCII letter (a manufacturer code is three). */
export function isLetter(c: number): boolean {
  const upper = c & ~0x20;
  return upper >= 0x41 && upper <= 0x5a;
}

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

/** A byte as text: 7E1 bytes lose their parity bit, and one with a parity error becomes NUL. */
function textByte(byte: number, sevenBit: boolean): number {
  if (!sevenBit) return byte;
  return EVEN_PARITY[byte] === 1 ? byte & 0x7f : PARITY_ERROR;
}

/** 7E1 bytes [start, end) -> 7-bit ASCII; a byte with a parity error becomes NUL, which no valid telegram contains. */
function stripEvenParity(bytes: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let i = start; i < end; i++) out[i - start] = textByte(bytes[i]!, true);
  return out;
}

function textOf(buf: Buffer, start: number, end: number, sevenBit: boolean): string {
  return (sevenBit ? stripEvenParity(buf, start, end) : buf.subarray(start, end)).toString('latin1');
}
