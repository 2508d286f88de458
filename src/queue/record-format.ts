import zlib from 'node:zlib';
import { P1Error } from '../errors.js';
import { FRAME_PROTOCOLS, type QueueRecord } from './types.js';

/**
 * How a record is stored, pure. Two formats live side by side in one database, told apart by their first byte:
 *
 *   v1 (first release)  JSON text `{"seq":..,"receivedAt":"..","raw":".."}`, so its first byte is '{' (0x7b)
 *   v2 (this release)   byte 0       0x02
 *                       bytes 1-4    CRC-32 of bytes 5.. (big-endian): LevelDB only checks its own block checksums
 *                                    when asked, and classic-level never asks
 *                       bytes 5-6    length H of the header (big-endian)
 *                       7..7+H       header, JSON in UTF-8: { seq, receivedAt, protocol }
 *                       the rest     the frame's bytes, as received: binary-safe, one byte per byte
 *
 * Records are read as v1 or v2 and always written as v2; a v1 record is never rewritten.
 */
export const RECORD_FORMAT = 2;

const V1_FIRST_BYTE = 0x7b;
const PREFIX = 7;

/** zlib.crc32 arrived in Node 20.15; the table below is for earlier 20.x. */
const crc32: (data: Uint8Array) => number = typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : crc32Table;

export function encodeRecord(record: QueueRecord): Buffer {
  const header = JSON.stringify({ seq: record.seq, receivedAt: record.receivedAt, protocol: record.protocol });
  const headerBytes = Buffer.byteLength(header, 'utf8');
  const out = Buffer.allocUnsafe(PREFIX + headerBytes + record.raw.length);
  out[0] = RECORD_FORMAT;
  out.writeUInt16BE(headerBytes, 5);
  out.write(header, PREFIX, 'utf8');
  out.write(record.raw, PREFIX + headerBytes, 'latin1');
  out.writeUInt32BE(crc32(out.subarray(5)), 1);
  return out;
}

/** Throws P1Error P1_QUEUE_CORRUPT for a value that is neither format or fails its checksum. */
export function decodeRecord(value: unknown): QueueRecord {
  if (!(value instanceof Uint8Array)) throw corrupt(`is not bytes but ${typeof value}`);
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes[0] === RECORD_FORMAT) return decodeV2(bytes);
  if (bytes[0] === V1_FIRST_BYTE) return recordOf(parseJson(bytes.toString('utf8')), 1);
  throw corrupt(`starts with byte ${bytes[0] ?? 'none'}, which is no record format`);
}

/** A record as JSON (v1 values, and the copy a dead letter keeps), checked field by field. */
export function recordOf(value: unknown, format: 1 | 2 = 1): QueueRecord {
  const r = value as Partial<QueueRecord> | null;
  if (r === null || typeof r !== 'object' || typeof r.seq !== 'number' || typeof r.receivedAt !== 'string' || (format === 1 && typeof r.raw !== 'string')) {
    throw corrupt(`is not { seq, receivedAt, raw }: ${JSON.stringify(value)?.slice(0, 120)}`);
  }
  const protocol = r.protocol ?? 'dsmr';
  if (!(FRAME_PROTOCOLS as readonly string[]).includes(protocol)) throw corrupt(`has protocol ${JSON.stringify(protocol)}, unknown to this release`);
  return { seq: r.seq, receivedAt: r.receivedAt, protocol, raw: r.raw ?? '' };
}

function decodeV2(bytes: Buffer): QueueRecord {
  if (bytes.length < PREFIX) throw corrupt(`is ${bytes.length} bytes, shorter than its prefix`);
  if (bytes.readUInt32BE(1) !== crc32(bytes.subarray(5))) throw corrupt('fails its checksum');
  const headerEnd = PREFIX + bytes.readUInt16BE(5);
  if (headerEnd > bytes.length) throw corrupt('has a header longer than itself');
  const record = recordOf(parseJson(bytes.toString('utf8', PREFIX, headerEnd)), 2);
  record.raw = bytes.toString('latin1', headerEnd);
  return record;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw corrupt(`is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function corrupt(what: string): P1Error {
  return new P1Error('P1_QUEUE_CORRUPT', `queue record ${what}`);
}

let table: Int32Array | undefined;

function crc32Table(data: Uint8Array): number {
  if (table === undefined) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = -1;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
