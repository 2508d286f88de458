import { checkX25, crc16x25 } from './crc16-x25.js';
import { Parts } from './parts.js';

/**
 * HDLC frames as DLMS/COSEM meters push them on their HAN port (IEC 62056-46, frame format type 3):
 * `7E | A S LLL LLLLLLLL | dst | src | control | HCS | information | FCS | 7E`. The 11-bit length counts from the
 * format field through the FCS; addresses are 1-4 bytes, each ending with its low bit set; HCS and FCS are
 * CRC-16/X.25. There is no byte stuffing on these links: the length, not the flags, delimits a frame.
 */

export const HDLC_FLAG = 0x7e;
const FORMAT_TYPE_3 = 0xa;
const SEGMENTED = 0x08;
const MAX_ADDRESS_BYTES = 4;
/** The 11-bit length field's largest value. */
export const HDLC_MAX_LENGTH = 0x7ff;

export interface HdlcFrame {
  /** The S bit: more segments of the same information field follow. */
  segmented: boolean;
  destination: number;
  source: number;
  control: number;
  information: Uint8Array;
}

export type HdlcRead =
  | { kind: 'frame'; frame: HdlcFrame; /** offset of the closing flag (it may open the next frame) */ end: number }
  | { kind: 'need-more' }
  /** Not a frame: the caller moves on to the next flag; `counted` when it had the shape of a frame (a CRC error). */
  | { kind: 'invalid'; counted: boolean; reason: string; end: number };

/** Bytes a frame needs before its header can be judged: flag, format (2), one-byte addresses, control, HCS. */
export const HDLC_MIN_BYTES = 8;

/**
 * Reads the frame whose opening flag is at `start`. `atEnd`: no more bytes will come, so a frame cut short is
 * invalid rather than incomplete. Pure; never throws.
 */
export function readHdlcFrame(buf: Uint8Array, start: number, atEnd: boolean): HdlcRead {
  const available = buf.length - start;
  if (available < 3) return atEnd ? notAFrame('too short', start + 1) : NEED_MORE;
  const format = buf[start + 1]!;
  if (format >> 4 !== FORMAT_TYPE_3) return notAFrame('not frame format type 3', start + 1);
  const length = ((format & 0x07) << 8) | buf[start + 2]!;
  const closing = start + 1 + length;
  let pos = start + 3;
  const destination = readAddress(buf, pos);
  if (destination === undefined) return needOr(atEnd, 'address', start);
  if (destination === null) return notAFrame('malformed destination address', start + 1);
  pos += destination.bytes;
  const source = readAddress(buf, pos);
  if (source === undefined) return needOr(atEnd, 'address', start);
  if (source === null) return notAFrame('malformed source address', start + 1);
  pos += source.bytes;
  const controlAt = pos;
  const hcsAt = controlAt + 1;
  // Header plus HCS must fit in the length, and a frame with information needs room for the FCS too.
  if (hcsAt + 2 > closing) return notAFrame('length shorter than the header', start + 1);
  if (buf.length <= closing) return needOr(atEnd, 'frame', start);
  const shaped = buf[closing] === HDLC_FLAG;
  if (!checkX25(buf, start + 1, hcsAt)) {
    // A damaged header is a CRC error when the rest looks like a frame (closing flag where the length says, the
    // LLC header after the HCS); otherwise it was a 0x7E in junk, or a closing flag that opens nothing. A flag
    // inside the header is most likely the start of the frame whose LLC that is, and the rescan reads it.
    const counted = shaped && isLlc(buf, hcsAt + 2) && buf.subarray(start + 1, hcsAt + 2).indexOf(HDLC_FLAG) === -1;
    return { kind: 'invalid', counted, reason: 'header check sequence (HCS) does not match', end: start + 1 };
  }
  if (!shaped) return notAFrame('no closing flag where the length ends', start + 1);
  // A frame without information (a keep-alive) ends with its HCS; one with information has an FCS after it.
  const afterHcs = hcsAt + 2;
  let information: Uint8Array = EMPTY;
  if (closing !== afterHcs) {
    if (closing - afterHcs < 2) return notAFrame('no room for the frame check sequence', start + 1);
    if (!checkX25(buf, start + 1, closing - 2)) {
      return { kind: 'invalid', counted: true, reason: 'frame check sequence (FCS) does not match', end: start + 1 };
    }
    information = buf.subarray(afterHcs, closing - 2);
  }
  return {
    kind: 'frame',
    frame: { segmented: (format & SEGMENTED) !== 0, destination: destination.value, source: source.value, control: buf[controlAt]!, information },
    end: closing,
  };
}

const EMPTY = new Uint8Array(0);
const NEED_MORE: HdlcRead = { kind: 'need-more' };

function notAFrame(reason: string, end: number): HdlcRead {
  return { kind: 'invalid', counted: false, reason, end };
}

function needOr(atEnd: boolean, what: string, start: number): HdlcRead {
  return atEnd ? { kind: 'invalid', counted: false, reason: `stream ends inside the ${what}`, end: start + 1 } : NEED_MORE;
}

/** An HDLC address: bytes up to and including the first with its low bit set. undefined: need more; null: malformed. */
function readAddress(buf: Uint8Array, at: number): { value: number; bytes: number } | undefined | null {
  let value = 0;
  for (let i = 0; i < MAX_ADDRESS_BYTES; i++) {
    if (at + i >= buf.length) return undefined;
    const byte = buf[at + i]!;
    value = value * 128 + (byte >> 1);
    if ((byte & 1) === 1) return { value, bytes: i + 1 };
  }
  return null;
}

function isLlc(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0xe6 && (bytes[at + 1] === 0xe7 || bytes[at + 1] === 0xe6) && bytes[at + 2] === 0x00;
}

/** The LLC header a meter puts before its first segment: destination and source LSAP E6 E7, quality 00. */
export function stripLlc(information: Uint8Array): Uint8Array {
  return isLlc(information, 0) ? information.subarray(3) : information;
}

/**
 * Joins the information fields of a segmented frame (S bit set on every segment but the last). A segment that
 * would make the whole longer than `maxBytes` drops it.
 */
export class HdlcReassembler {
  private readonly parts: Parts;

  constructor(maxBytes?: number) {
    this.parts = new Parts(maxBytes);
  }

  /** The whole information field when `frame` completes one, else null. */
  push(frame: HdlcFrame): Uint8Array | null {
    if (!frame.segmented && this.parts.count === 0) return frame.information;
    if (!this.parts.add(frame.information)) return null;
    return frame.segmented ? null : this.parts.take();
  }

  /** Segments waiting for their last one. */
  get pending(): number {
    return this.parts.count;
  }

  reset(): void {
    this.parts.reset();
  }
}

const CR = 0x0d;
const LF = 0x0a;

export type RelayedRead =
  | { kind: 'frame'; frame: HdlcFrame; end: number; /** false: the capture stopped before the FCS */ checked: boolean }
  | { kind: 'need-more' }
  | { kind: 'invalid' };

/**
 * A frame relayed through a text-mode link that wrote every LF (0x0A) as CR LF, as the "OSS brikken" HAN reader's
 * output reaches hass-AMS; its captures also stop where the FCS would begin. The frame is read with the inserted
 * CRs taken out. `checked: false` means only the HCS vouched for it: the caller must vouch for the information
 * field in another way (a data-notification that decodes exactly to its last byte).
 */
export function readRelayedHdlcFrame(buf: Uint8Array, start: number, atEnd: boolean): RelayedRead {
  const out: number[] = [];
  let length = -1;
  let i = start + 1;
  for (; i < buf.length && out.length !== length; i++) {
    const byte = buf[i]!;
    if (byte === CR) {
      if (i + 1 >= buf.length && !atEnd) return { kind: 'need-more' };
      if (buf[i + 1] === LF) continue;
    }
    out.push(byte);
    if (out.length === 2) {
      if (out[0]! >> 4 !== FORMAT_TYPE_3) return { kind: 'invalid' };
      length = ((out[0]! & 0x07) << 8) | out[1]!;
      // Shorter than a header cannot be a frame (and would never be reached: the loop stops at `length`).
      if (length < HDLC_MIN_BYTES - 1) return { kind: 'invalid' };
    }
  }
  const atStreamEnd = i >= buf.length;
  if (atStreamEnd && !atEnd) return { kind: 'need-more' };
  const closed = atStreamEnd || buf[i] === HDLC_FLAG;
  if (!closed || length < 0) return { kind: 'invalid' };
  let checked = true;
  if (out.length === length - 2) {
    // Cut before the FCS: add the one the bytes give, so that the header is judged by its HCS alone.
    const fcs = crc16x25(Uint8Array.from(out));
    out.push(fcs & 0xff, fcs >> 8);
    checked = false;
  } else if (out.length !== length) {
    return { kind: 'invalid' };
  }
  const frame = readHdlcFrame(Uint8Array.from([HDLC_FLAG, ...out, HDLC_FLAG]), 0, true);
  if (frame.kind !== 'frame') return { kind: 'invalid' };
  return { kind: 'frame', frame: frame.frame, end: atStreamEnd ? buf.length : i, checked };
}

/** Whether bytes[from, to) hold a CR LF pair: what a frame relayed as text shows. */
export function hasCrLf(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i + 1 < Math.min(to, bytes.length); i++) if (bytes[i] === CR && bytes[i + 1] === LF) return true;
  return false;
}

export interface HdlcFrameOptions {
  segmented?: boolean;
  /** One-byte addresses as meters use them (destination 0x41 for the HAN client, source 0x0883 for Aidon). */
  destination?: number;
  source?: number;
  control?: number;
}

/** An HDLC frame around `information`, as a meter sends it (for the simulator and tests). */
export function buildHdlcFrame(information: Uint8Array, options: HdlcFrameOptions = {}): Buffer {
  const header = [0, 0, ((options.destination ?? 0x20) << 1) | 1, ((options.source ?? 0x01) << 1) | 1, options.control ?? 0x13];
  const length = header.length + 2 + information.length + 2;
  header[0] = (FORMAT_TYPE_3 << 4) | (options.segmented === true ? SEGMENTED : 0) | ((length >> 8) & 0x07);
  header[1] = length & 0xff;
  const frame = Buffer.alloc(length + 2);
  frame[0] = HDLC_FLAG;
  frame.set(header, 1);
  const hcs = crc16x25(frame, 1, 1 + header.length);
  frame.writeUInt16LE(hcs, 1 + header.length);
  frame.set(information, 3 + header.length);
  frame.writeUInt16LE(crc16x25(frame, 1, length - 1), length - 1);
  frame[length + 1] = HDLC_FLAG;
  return frame;
}

/** The LLC header of a meter's first segment. */
export const LLC_HEADER = Uint8Array.of(0xe6, 0xe7, 0x00);
