import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureBytes, telegramFiles } from '../support/fixtures.js';

function frame(chunks: Uint8Array[]): FrameEvent[] {
  const framer = new TelegramFramer();
  return [...chunks.flatMap((c) => framer.push(c)), ...framer.end()];
}

const readings = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'telegram' ? [e.raw] : []));

/** Fixtures with a CRC, and the offset just after their last CRC digit. */
const crcFixtures = telegramFiles()
  .map((name) => ({ name, bytes: fixtureBytes(name) }))
  .filter(({ bytes }) => /\r\n![0-9A-F]{1,4}\r\n/.test(bytes.toString('latin1')))
  .map(({ name, bytes }) => ({ name, bytes, end: bytes.toString('latin1').search(/\r\n\r?$/) }));

describe('framer and parser properties', () => {
  it('random bytes never throw, and whatever they frame parses without throwing', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        for (const raw of readings(frame(chunks))) parseTelegram(raw);
      }),
      { numRuns: 2000 },
    );
  });

  it('telegram-like random text never throws in the parser', () => {
    const line = fc.stringMatching(/^[0-9\-:.*()A-Za-z!/]{0,40}$/);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        parseTelegram(`/X\r\n\r\n${lines.join('\r\n')}\r\n!\r\n`);
      }),
      { numRuns: 2000 },
    );
  });

  it('has CRC fixtures to mutate', () => {
    expect(crcFixtures.length).toBeGreaterThanOrEqual(8);
  });

  for (const { name, bytes, end } of crcFixtures) {
    it(`any single-byte change inside ${name} (from "/" to the last CRC digit) never yields a reading`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: end - 1 }), fc.integer({ min: 1, max: 255 }), (at, delta) => {
          const mutated = Buffer.from(bytes);
          mutated[at] = (mutated[at]! + delta) & 0xff;
          expect(readings(frame([mutated]))).toEqual([]);
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('a stream of valid telegrams split at random chunk boundaries yields exactly those telegrams', () => {
    const corpus = telegramFiles().map((n) => fixtureBytes(n));
    // Trailing junk of some fixtures (EasyMeter) is not part of the telegram: compare with a clean framing.
    const expectedFor = (indices: number[]): string[] => indices.flatMap((i) => readings(frame([corpus[i]!])));
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: corpus.length - 1 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 40 }),
        (indices, cuts) => {
          const stream = Buffer.concat(indices.map((i) => corpus[i]!));
          const chunks: Buffer[] = [];
          let pos = 0;
          for (let k = 0; pos < stream.length; k++) {
            const size = cuts[k % cuts.length]!;
            chunks.push(stream.subarray(pos, pos + size));
            pos += size;
          }
          expect(readings(frame(chunks))).toEqual(expectedFor(indices));
        },
      ),
      { numRuns: 500 },
    );
  });
});
