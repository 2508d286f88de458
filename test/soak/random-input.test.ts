import fc from 'fast-check';
import { expect, it } from 'vitest';
import { parseTelegram } from '../../src/telegram/parse.js';
import { chunked, corpusTexts, cutsArb, frameAll, junkArb, streamTelegrams, type StreamTelegram } from '../support/telegram-streams.js';

/**
 * Random input for the framer and parser: 1,000,000 cases with SOAK=1 (`npm run soak`), 5,000 in the normal suite.
 * A case is a stream of noise, whole telegrams (8N1 and 7E1-coded), telegrams with one byte or two adjacent bytes
 * damaged between '/' and the last CRC digit (which CRC-16 always detects), and telegrams cut off before their end,
 * in any order, cut into chunks anywhere. Nothing may throw, and no reading may come from a damaged telegram: every
 * reading is one of the case's whole telegrams, in order. The one exception is what no framer can tell: a
 * telegram cut at a line end and followed by a '!' (noise) reads as a telegram without CRC of its first lines,
 * unless those lines show a DSMR 4/5 telegram (meter time with S/W, version line). Such readings are counted.
 */
const CASES = process.env.SOAK === '1' ? 1_000_000 : 5_000;

const withCrc = streamTelegrams.filter((t) => t.lastCrcDigit >= 0);

type Part = { kind: 'junk'; bytes: Buffer } | { kind: 'whole'; telegram: StreamTelegram } | { kind: 'damaged' | 'cut'; bytes: Buffer };

const damagedArb = fc
  .tuple(fc.constantFrom(...withCrc), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.option(fc.integer({ min: 0, max: 255 })))
  .map(([telegram, at, delta, second]): Part => {
    const bytes = Buffer.from(telegram.bytes);
    const i = at % (telegram.lastCrcDigit + 1);
    bytes[i] = (bytes[i]! + delta) & 0xff;
    if (second !== null && i + 1 <= telegram.lastCrcDigit) bytes[i + 1] = second;
    return { kind: 'damaged', bytes };
  });

/** Cut before its '!' line: no end of a telegram with CRC can complete it by chance short of a CRC collision. */
const cutArb = fc.tuple(fc.constantFrom(...withCrc), fc.nat()).map(([telegram, at]): Part => {
  const bang = telegram.bytes.lastIndexOf(0x21, telegram.lastCrcDigit);
  return { kind: 'cut', bytes: telegram.bytes.subarray(0, at % bang) };
});

const partArb: fc.Arbitrary<Part> = fc.oneof(
  junkArb.map((bytes): Part => ({ kind: 'junk', bytes })),
  fc.uint8Array({ maxLength: 400 }).map((bytes): Part => ({ kind: 'junk', bytes: Buffer.from(bytes) })),
  fc.constantFrom(...streamTelegrams).map((telegram): Part => ({ kind: 'whole', telegram })),
  damagedArb,
  cutArb,
);

/** Text up to its '!' line is the start of a corpus telegram, ending at a line end. */
function isFirstLinesOfATelegram(raw: string): boolean {
  const lines = raw.slice(0, raw.lastIndexOf('\n!') + 1);
  return corpusTexts.some((text) => text.startsWith(lines));
}

it(`${CASES.toLocaleString('en')} random inputs: nothing throws, no reading from a damaged telegram`, () => {
  let cases = 0;
  let readingsSeen = 0;
  let wholeSent = 0;
  let damagedSent = 0;
  let firstLines = 0;
  fc.assert(
    fc.property(fc.array(partArb, { maxLength: 8 }), cutsArb, (parts, cuts) => {
      cases++;
      const stream = Buffer.concat(parts.map((p) => (p.kind === 'whole' ? p.telegram.bytes : p.bytes)));
      const { events } = frameAll(chunked(stream, cuts));
      const whole = parts.flatMap((p) => (p.kind === 'whole' ? [p.telegram.text] : []));
      wholeSent += whole.length;
      damagedSent += parts.filter((p) => p.kind === 'damaged').length;
      // Every reading is one of the whole telegrams, in stream order (or the first lines of a cut one, see above).
      let next = 0;
      for (const event of events) {
        if (event.type !== 'telegram') continue;
        parseTelegram(event.raw);
        readingsSeen++;
        if (event.crc === 'none' && isFirstLinesOfATelegram(event.raw) && !whole.slice(next).includes(event.raw)) {
          firstLines++;
          continue;
        }
        while (next < whole.length && whole[next] !== event.raw) next++;
        expect(next, 'a reading that is none of the whole telegrams').toBeLessThan(whole.length);
        next++;
      }
    }),
    { numRuns: CASES },
  );
  console.log(
    `random-input soak: ${cases.toLocaleString('en')} cases run, 0 throws, 0 readings from ${damagedSent.toLocaleString('en')} damaged telegrams; ${readingsSeen.toLocaleString('en')} readings of ${wholeSent.toLocaleString('en')} whole telegrams sent, ${firstLines} of them the first lines of a cut one followed by "!"`,
  );
  expect(cases).toBe(CASES);
}, 3_600_000);
