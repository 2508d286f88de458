import { isLetter } from './dsmr-text.js';
import type { FrameRead, FrameReader, HintEvent } from './frame.js';

/*
 * Binary frames that p1logger does not read yet, recognised so that the user learns what the meter sends instead of
 * a misleading hint. Each recogniser claims a frame only when its structure (and, for HDLC, its checksum) holds:
 * bytes it claims are junk, so a claim on noise would hide a telegram behind it.
 */

const HDLC_FLAG = 0x7e;
const GLO_CIPHERING = 0xdb;
const MORE: FrameRead = { kind: 'more' };
const NONE: FrameRead = { kind: 'none' };

export const DLMS_HINT: HintEvent = {
  type: 'hint',
  code: 'P1_STREAM_DLMS',
  message:
    'HDLC frames (0x7E) with valid checksums: this meter sends DLMS/COSEM (the HAN port of meters in Norway, Sweden, Denmark, Austria, Switzerland), not DSMR text. This version reads DSMR text only: these bytes are counted as junk; the port settings are right, nothing else to configure yet',
};

export const ENCRYPTED_HINT: HintEvent = {
  type: 'hint',
  code: 'P1_STREAM_ENCRYPTED',
  message:
    'encrypted DLMS frames (general-glo-ciphering, 0xDB), as a Luxembourg Smarty or an Austrian meter sends them: reading them takes the meter\'s decryption key from the grid operator (decryptionKey, and authenticationKey where the operator gives one). The DSMR text framer does not decrypt: these bytes are counted as junk',
};

/** HDLC frame format type 3: 0x7E, format (0xA in the high nibble, 11-bit length), ..., FCS, 0x7E. */
export class HdlcRecogniser implements FrameReader {
  readonly startBytes = [HDLC_FLAG];

  constructor(private readonly maxBytes: number) {}

  read(buf: Buffer, start: number, atEnd: boolean): FrameRead {
    if (start + 3 > buf.length) return atEnd ? NONE : MORE;
    const format = buf[start + 1]!;
    if ((format & 0xf0) !== 0xa0) return NONE;
    const length = ((format & 0x07) << 8) | buf[start + 2]!;
    // Format, two addresses, control and FCS at least.
    if (length < 7 || length + 2 > this.maxBytes) return NONE;
    const end = start + length + 2;
    if (end > buf.length) return atEnd ? NONE : MORE;
    if (buf[end - 1] !== HDLC_FLAG) return NONE;
    const fcs = buf[end - 3]! | (buf[end - 2]! << 8);
    if (crc16X25(buf, start + 1, end - 3) !== fcs) return NONE;
    const ciphered = apduTag(buf, start, end) === GLO_CIPHERING;
    return { kind: 'unread', end, hints: ciphered ? [DLMS_HINT, ENCRYPTED_HINT] : [DLMS_HINT] };
  }
}

/** The first byte of the APDU in an HDLC frame's information field (after the LLC header), or -1. */
function apduTag(buf: Buffer, start: number, end: number): number {
  let i = start + 3;
  for (let address = 0; address < 2; address++) {
    const limit = i + 4;
    while (i < limit && i < end && (buf[i]! & 1) === 0) i++;
    i++;
  }
  i += 1 + 2; // control, HCS
  if (buf[i] !== 0xe6 || i + 3 >= end - 3) return -1;
  return buf[i + 3]!;
}

/** CRC-16/X.25 (HDLC FCS): polynomial 0x1021 reflected (0x8408), initial 0xFFFF, final xor 0xFFFF. */
function crc16X25(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]!;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return ~crc & 0xffff;
}

/**
 * DLMS general-glo-ciphering as a frame of its own (Luxembourg Smarty, Austrian M-Bus payloads): 0xDB, system
 * title length 8, a system title starting with the manufacturer's three letters, a BER length (0x81 n or 0x82 nn),
 * a security byte (0x10, 0x20 or 0x30), frame counter, ciphertext, tag.
 */
export class GcmRecogniser implements FrameReader {
  readonly startBytes = [GLO_CIPHERING];

  constructor(private readonly maxBytes: number) {}

  read(buf: Buffer, start: number, atEnd: boolean): FrameRead {
    const header = start + 14;
    if (header > buf.length) return atEnd ? NONE : MORE;
    if (buf[start + 1] !== 0x08) return NONE;
    for (let i = start + 2; i < start + 5; i++) if (!isLetter(buf[i]!)) return NONE;
    const form = buf[start + 10]!;
    let length: number;
    let security: number;
    if (form === 0x81) {
      length = buf[start + 11]!;
      security = buf[start + 12]!;
    } else if (form === 0x82) {
      length = (buf[start + 11]! << 8) | buf[start + 12]!;
      security = buf[start + 13]!;
    } else {
      return NONE;
    }
    if (security !== 0x10 && security !== 0x20 && security !== 0x30) return NONE;
    // Security byte and frame counter, a tag when authenticated, and something to decrypt.
    if (length < 5 + (security & 0x10 ? 12 : 0) + 1) return NONE;
    const end = start + 11 + (form - 0x80) + length;
    if (end - start > this.maxBytes) return NONE;
    if (end > buf.length) return atEnd ? NONE : MORE;
    return { kind: 'unread', end, hints: [ENCRYPTED_HINT] };
  }
}
