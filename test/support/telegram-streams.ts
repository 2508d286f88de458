import fc from 'fast-check';
import { FrameDetector } from '../../src/frames/detector.js';
import { TelegramFramer, type FrameEvent, type FramerOptions, type FramerStats } from '../../src/telegram/frame.js';
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

export interface Framer {
  push(chunk: Uint8Array): FrameEvent[];
  end(): FrameEvent[];
  readonly stats: Pick<FramerStats, 'telegrams' | 'crcErrors' | 'invalid' | 'truncated' | 'junkBytes'>;
  readonly bufferedBytes: number;
}

/** The frame detector as the DSMR text framer it is in front of, its own events ('detected', binary frames) left out. */
class DetectorAsFramer implements Framer {
  private readonly detector: FrameDetector;
  constructor(options: FramerOptions = {}) {
    this.detector = new FrameDetector(options);
  }
  push(chunk: Uint8Array): FrameEvent[] {
    return this.detector.push(chunk).filter(isFrameEvent);
  }
  end(): FrameEvent[] {
    return this.detector.end().filter(isFrameEvent);
  }
  get stats(): Framer['stats'] {
    return this.detector.stats;
  }
  get bufferedBytes(): number {
    return this.detector.bufferedBytes;
  }
}

function isFrameEvent<E extends { type: string }>(event: E): event is Extract<E, FrameEvent> {
  return ['telegram', 'rejected', 'truncated', 'junk', 'hint'].includes(event.type);
}

export type FrontEnd = 'TelegramFramer' | 'FrameDetector';

/**
 * The two front ends that frame DSMR text, which the telegram tests run on both: the telegram framer, and the frame
 * detector that `run`, `read`, `parse` and `import` read a source with (it finds a telegram among binary frames,
 * then hands it to a telegram framer).
 */
export const FRONT_ENDS: ReadonlyArray<[FrontEnd, (options?: FramerOptions) => Framer]> = [
  ['TelegramFramer', (options) => new TelegramFramer(options)],
  ['FrameDetector', (options) => new DetectorAsFramer(options)],
];

export function newFramer(frontEnd: FrontEnd, options?: FramerOptions): Framer {
  return FRONT_ENDS.find(([name]) => name === frontEnd)![1](options);
}

export function frameAll(chunks: Uint8Array[], frontEnd: FrontEnd = 'TelegramFramer'): { events: FrameEvent[]; framer: Framer } {
  const framer = newFramer(frontEnd);
  const events = [...chunks.flatMap((c) => framer.push(c)), ...framer.end()];
  return { events, framer };
}

export const readings = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'telegram' ? [e.raw] : []));
