import type { FrameProtocol } from '../queue/types.js';
import { telegramToJson } from '../telegram/ndjson.js';
import { parseTelegram } from '../telegram/parse.js';
import type { CrcStatus, ParseOptions, Telegram } from '../telegram/types.js';
import type { DetectorEvent } from './detector.js';
import { readDlmsRecord } from './dlms/record.js';
import { buildHdlcFrame, LLC_HEADER } from './hdlc.js';
import type { DlmsReading } from './dlms/reading.js';

/** A frame as the queue stores it: its protocol and its bytes (latin1). */
export interface StoredFrame {
  protocol: FrameProtocol;
  raw: string;
}

/** The frame a detector event stores; null for the events that store nothing. */
export function storedFrame(event: DetectorEvent): StoredFrame | null {
  if (event.type === 'telegram') return { protocol: 'dsmr', raw: event.raw };
  if (event.type === 'dlms') return { protocol: 'dlms', raw: Buffer.from(event.apdu.buffer, event.apdu.byteOffset, event.apdu.byteLength).toString('latin1') };
  return null;
}

/** A stored frame parsed: a DSMR telegram or a DLMS reading; null for DLMS bytes this release cannot read. */
export function parseFrame(frame: StoredFrame, options: ParseOptions & { crc?: CrcStatus } = {}): Telegram | DlmsReading | null {
  return frame.protocol === 'dsmr' ? parseTelegram(frame.raw, options) : readDlmsRecord(frame.raw, options);
}

/** One line of `p1logger parse` / `export --format ndjson` (README: "Parsed telegram", "DLMS readings"). */
export function frameToJson(frame: StoredFrame, options: ParseOptions & { crc?: CrcStatus } = {}): string | null {
  const parsed = parseFrame(frame, options);
  if (parsed === null) return null;
  return 'protocol' in parsed ? JSON.stringify(parsed) : telegramToJson(parsed);
}

/**
 * A stored frame as a DSMR-shaped telegram, for what was built on DSMR's (the page, its history): a DLMS reading's
 * objects keyed as sent, its maker and list as the header.
 */
export function frameTelegram(frame: StoredFrame, options: ParseOptions = {}): Telegram | null {
  const parsed = parseFrame(frame, options);
  if (parsed === null || !('protocol' in parsed)) return parsed;
  return { header: [parsed.maker ?? 'DLMS', parsed.list ?? parsed.layout].join(' '), version: null, time: parsed.time, crc: 'ok', objects: parsed.objects };
}

/** Information bytes per HDLC frame when a long APDU is written out in segments. */
const SEGMENT_BYTES = 1000;

/**
 * A stored frame as bytes a reader takes again (`export --format raw`, then `import` or `parse`): a DSMR telegram
 * as stored; a DLMS APDU in HDLC frames (segmented when long), since the bare APDU has no framing of its own.
 */
export function frameBytes(frame: StoredFrame): Buffer {
  const bytes = Buffer.from(frame.raw, 'latin1');
  if (frame.protocol === 'dsmr') return bytes;
  const information = Buffer.concat([LLC_HEADER, bytes]);
  const frames: Buffer[] = [];
  for (let at = 0; at < information.length; at += SEGMENT_BYTES) {
    const segmented = at + SEGMENT_BYTES < information.length;
    frames.push(buildHdlcFrame(information.subarray(at, at + SEGMENT_BYTES), { segmented, destination: 0x10, source: 0x01 }));
  }
  return Buffer.concat(frames);
}
