import { EVEN_PARITY } from '../telegram/dsmr-text.js';

/**
 * Where a DSMR text telegram that starts at `start` ('/', or 0xAF: '/' with the 7E1 parity bit) ends in a stream
 * that may hold binary frames too: after the '!' that starts a line, its CRC digits and line end. The telegram
 * framer then judges it (CRC, content); this only keeps it apart from what surrounds it.
 */

export const SLASH = 0x2f;
export const SLASH_WITH_PARITY = 0xaf;
const BANG = 0x21;
const CR = 0x0d;
const LF = 0x0a;
const MAX_CRC_DIGITS = 4;

export type DsmrTextRead =
  | { kind: 'telegram'; end: number }
  | { kind: 'need-more' }
  /** `truncated`: a telegram that another start cut short (counted); otherwise not DSMR text at all. */
  | { kind: 'invalid'; truncated: boolean; end: number };


export function readDsmrText(buf: Uint8Array, start: number, atEnd: boolean, maxBytes: number): DsmrTextRead {
  // 7E1: every byte has even parity and its low 7 bits are ASCII; 8N1: every byte is ASCII.
  const parity = buf[start] === SLASH_WITH_PARITY;
  let previous = SLASH;
  for (let i = start + 1; i < buf.length; i++) {
    const raw = buf[i]!;
    if (parity ? EVEN_PARITY[raw] !== 1 : raw >= 0x80) return { kind: 'invalid', truncated: false, end: start + 1 };
    const byte = raw & 0x7f;
    if (byte === SLASH) return { kind: 'invalid', truncated: true, end: i };
    if (byte === BANG && previous === LF) return trailer(buf, i, atEnd);
    previous = byte;
    if (i - start > maxBytes) return { kind: 'invalid', truncated: true, end: i };
  }
  return atEnd ? { kind: 'invalid', truncated: buf.length - start > 1, end: buf.length } : { kind: 'need-more' };
}

/** After '!': up to four hex digits, then CR LF (or LF); at the end of the stream the digits alone. */
function trailer(buf: Uint8Array, bang: number, atEnd: boolean): DsmrTextRead {
  let i = bang + 1;
  while (i < buf.length && i - bang - 1 < MAX_CRC_DIGITS && isHex(buf[i]! & 0x7f)) i++;
  if (i >= buf.length) return atEnd ? { kind: 'telegram', end: i } : { kind: 'need-more' };
  const byte = buf[i]! & 0x7f;
  if (byte === LF) return { kind: 'telegram', end: i + 1 };
  if (byte === CR) {
    if (i + 1 >= buf.length) return atEnd ? { kind: 'telegram', end: i + 1 } : { kind: 'need-more' };
    return { kind: 'telegram', end: (buf[i + 1]! & 0x7f) === LF ? i + 2 : i + 1 };
  }
  // A telegram without CRC that the next one's '/' ends; anything else, the telegram framer reports as malformed.
  if (byte === SLASH) return { kind: 'telegram', end: i };
  return { kind: 'telegram', end: i + 1 };
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}
