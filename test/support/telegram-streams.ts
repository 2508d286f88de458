import fc from 'fast-check';
import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import { fixtureBytes, telegramFiles } from './fixtures.js';

/** One telegram of the corpus: its text, and the bytes a port opened 8N1 receives for it. */
export interface StreamTelegram {
  text: string;
  bytes: Buffer;
  /** Sent 7E1 (bit 7 is the even-parity bit). */
  sevenBit: boolean;
  /** Offset of the last CRC digit in `bytes`, -1 when the telegram has no CRC. */
  lastCrcDigit: number;
}

/** The telegram of each fixture, from '/' through the line end after '!' (EasyMeter trailers and padding left out). */
export const corpusTexts: string[] = telegramFiles().map((name) => {
  const text = fixtureBytes(name).toString('latin1');
  const end = /\n![0-9A-F]{0,4}\r?\n/.exec(text);
  if (end === null) throw new Error(`${name}: no end line`);
  return text.slice(0, end.index + end[0].length);
});

function oddBits(byte: number): boolean {
  let ones = 0;
  for (let b = byte; b > 0; b >>= 1) ones += b & 1;
  return ones % 2 === 1;
}

/** The bytes of a 7-bit text sent 9600 7E1 and read 8N1. */
export function as7E1(text: string): Buffer {
  return Buffer.from([...Buffer.from(text, 'latin1')].map((b) => (oddBits(b) ? b | 0x80 : b)));
}

const isSevenBit = (text: string): boolean => [...Buffer.from(text, 'latin1')].every((b) => b < 0x80);

/** Every corpus telegram 8N1, and 7E1-coded too where its text is 7-bit (as DSMR 2.2/3 meters send it). */
export const streamTelegrams: StreamTelegram[] = corpusTexts.flatMap((text) => {
  const digits = /\n!([0-9A-F]{1,4})/.exec(text);
  const lastCrcDigit = digits === null ? -1 : digits.index + 2 + digits[1]!.length - 1;
  const plain = { text, bytes: Buffer.from(text, 'latin1'), sevenBit: false, lastCrcDigit };
  return isSevenBit(text) ? [plain, { ...plain, bytes: as7E1(text), sevenBit: true }] : [plain];
});

export const telegramArb = fc.constantFrom(...streamTelegrams);

/** Noise, with many of the bytes that start frames (0xAF, 0x7E, 0xDB, '/') or end them ('\n', '!', '\r'). */
export const junkArb = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xaf, 0x7e, 0xdb, 0x2f, 0x0a, 0x21, 0x0d, 0x41)), { maxLength: 120 })
  .map((bytes) => Buffer.from(bytes));

/** Chunk sizes to cut a stream into, used round-robin. */
export const cutsArb = fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 40 });

export function chunked(stream: Buffer, cuts: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let pos = 0, k = 0; pos < stream.length; k++) {
    const size = cuts[k % cuts.length]!;
    chunks.push(stream.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

export function frameAll(chunks: Uint8Array[]): { events: FrameEvent[]; framer: TelegramFramer } {
  const framer = new TelegramFramer();
  const events = [...chunks.flatMap((c) => framer.push(c)), ...framer.end()];
  return { events, framer };
}

export const readings = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'telegram' ? [e.raw] : []));
