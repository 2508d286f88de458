import { isLetter } from '../telegram/dsmr-text.js';

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
/** An identification line is some 20 characters: "/" + maker (3) + baud digit + "\\" + type. */
const MAX_HEADER_BYTES = 256;
/** Bytes no telegram body holds: C0 controls but CR and LF, and DEL. */
const CONTROL = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) if (b !== CR && b !== LF) CONTROL[b] = 1;
CONTROL[0x7f] = 1;

export type DsmrTextRead =
  | { kind: 'telegram'; end: number }
  | { kind: 'need-more' }
  /** `truncated`: a telegram that another start cut short (counted); otherwise not DSMR text at all. */
  | { kind: 'invalid'; truncated: boolean; end: number };

export function readDsmrText(buf: Uint8Array, start: number, atEnd: boolean, maxBytes: number): DsmrTextRead {
  // A telegram is text. Its body holds no control byte but CR and LF; its identification line may (Iskra's "\2",
  // Fluvius's 0xAB), but no NUL and no more than a line's length. In 7E1 a parity error is the telegram framer's
  // to report (the only check a DSMR 2.2/3 telegram has), like any byte the CRC judges. A '/' in a binary frame
  // meets a NUL, or a control byte after its first LF, within a few bytes: it does not hold the stream up, and as
  // it is no telegram its bytes are scanned again for the frame they may hold.
  const parity = buf[start] === SLASH_WITH_PARITY;
  let previous = SLASH;
  let inHeader = true;
  for (let i = start + 1; i < buf.length; i++) {
    const raw = buf[i]!;
    const byte = raw & 0x7f;
    const text = parity ? byte : raw;
    // An identification line begins with the maker's letters; a '/' in a value, a date or 0xAF noise does not.
    if (i === start + 1 && !isLetter(byte)) return { kind: 'invalid', truncated: false, end: start + 1 };
    if (inHeader ? text === 0 : CONTROL[text] === 1) return { kind: 'invalid', truncated: false, end: start + 1 };
    if (inHeader && i - start > MAX_HEADER_BYTES) return { kind: 'invalid', truncated: false, end: start + 1 };
    if (byte === LF) inHeader = false;
    // A '/' that starts a line starts the next telegram; one inside a line (a header, a text message) is data.
    if (byte === SLASH && previous === LF) return { kind: 'invalid', truncated: true, end: i };
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
