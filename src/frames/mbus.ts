import { Parts } from './parts.js';

/**
 * Wired M-Bus long frames (EN 13757-2) as Austrian and Polish meters push DLMS on them:
 * `68 L L 68 | C A CI | STSAP DTSAP | data | CS 16`. L counts C through the data; CS is their sum modulo 256.
 * A CI field of 0x00-0x1F carries a DLMS segment: its low nibble is the segment number, bit 4 marks the last one;
 * then come the transport service access points (two bytes) and the segment.
 */

export const MBUS_START = 0x68;
const MBUS_STOP = 0x16;
const CI_DLMS_MAX = 0x1f;
const CI_LAST_SEGMENT = 0x10;

export interface MbusFrame {
  control: number;
  address: number;
  ci: number;
  /** The bytes after the CI field (for DLMS: the access points, then the segment). */
  data: Uint8Array;
}

export type MbusRead =
  | { kind: 'frame'; frame: MbusFrame; /** offset after the stop byte */ end: number }
  | { kind: 'need-more' }
  | { kind: 'invalid'; counted: boolean; reason: string; end: number };

/** Reads the long frame that starts at `start` (a 0x68). Pure; never throws. */
export function readMbusFrame(buf: Uint8Array, start: number, atEnd: boolean): MbusRead {
  if (buf.length - start < 4) return atEnd ? invalid(false, 'too short', start) : NEED_MORE;
  const length = buf[start + 1]!;
  // L repeated, the second start byte, and room for C, A and CI: anything else is not a long frame.
  if (buf[start + 2] !== length || buf[start + 3] !== MBUS_START || length < 3) return invalid(false, 'not an M-Bus long frame', start);
  const dataStart = start + 4;
  const csAt = dataStart + length;
  if (buf.length < csAt + 2) return atEnd ? invalid(false, 'stream ends inside the frame', start) : NEED_MORE;
  const shaped = buf[csAt + 1] === MBUS_STOP;
  let sum = 0;
  for (let i = dataStart; i < csAt; i++) sum += buf[i]!;
  if ((sum & 0xff) !== buf[csAt]) return invalid(shaped, 'checksum does not match', start);
  if (!shaped) return invalid(false, 'no stop byte (0x16) where the length ends', start);
  return {
    kind: 'frame',
    frame: { control: buf[dataStart]!, address: buf[dataStart + 1]!, ci: buf[dataStart + 2]!, data: buf.subarray(dataStart + 3, csAt) },
    end: csAt + 2,
  };
}

const NEED_MORE: MbusRead = { kind: 'need-more' };

function invalid(counted: boolean, reason: string, start: number): MbusRead {
  return { kind: 'invalid', counted, reason, end: start + 1 };
}

/** Whether the frame carries a DLMS segment (the CI fields DLMS/COSEM over M-Bus uses). */
export function isDlmsSegment(frame: MbusFrame): boolean {
  return frame.ci <= CI_DLMS_MAX && frame.data.length >= 2;
}

/**
 * Joins the DLMS segments of consecutive long frames into the APDU they carry. A segment out of sequence drops
 * what was collected; so does a whole longer than `maxBytes`.
 */
export class MbusReassembler {
  private readonly parts: Parts;

  constructor(maxBytes?: number) {
    this.parts = new Parts(maxBytes);
  }

  /** The APDU when `frame` is its last segment, else null (also for frames that carry no DLMS segment). */
  push(frame: MbusFrame): Uint8Array | null {
    if (!isDlmsSegment(frame)) return null;
    const sequence = frame.ci & 0x0f;
    if (sequence !== this.parts.count % 16) {
      this.parts.reset();
      if (sequence !== 0) return null;
    }
    if (!this.parts.add(frame.data.subarray(2))) return null;
    return (frame.ci & CI_LAST_SEGMENT) === 0 ? null : this.parts.take();
  }

  get pending(): number {
    return this.parts.count;
  }

  reset(): void {
    this.parts.reset();
  }
}

/** Long frames that carry `apdu` in segments of at most `segmentBytes`, as Austrian meters send it. */
export function buildMbusFrames(apdu: Uint8Array, segmentBytes = 228): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0, sequence = 0; offset < apdu.length || sequence === 0; offset += segmentBytes, sequence++) {
    const segment = apdu.subarray(offset, offset + segmentBytes);
    const last = offset + segmentBytes >= apdu.length;
    const body = Buffer.concat([Buffer.from([0x53, 0xff, (sequence & 0x0f) | (last ? CI_LAST_SEGMENT : 0), 0x01, 0x67]), segment]);
    let sum = 0;
    for (const byte of body) sum += byte;
    frames.push(Buffer.concat([Buffer.from([MBUS_START, body.length, body.length, MBUS_START]), body, Buffer.from([sum & 0xff, MBUS_STOP])]));
    if (last) break;
  }
  return frames;
}
