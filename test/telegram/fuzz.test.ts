import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FrameEvent } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { crc16OfText, formatCrc } from '../../src/telegram/crc16.js';
import { fixtureBytes, telegramFiles } from '../support/fixtures.js';
import { as7E1, chunked, cutsArb, frameAll, FRONT_ENDS, junkArb, readings, telegramArb, type FrontEnd } from '../support/telegram-streams.js';

/** The telegram with its CRC computed again when it has one (text up to and including '!', then the digits). */
function withFreshCrc(text: string): string {
  const end = /\n!([0-9A-F]{1,4})\r\n$/.exec(text);
  if (end === null) return text;
  const upToBang = text.slice(0, end.index + 2);
  return `${upToBang}${formatCrc(crc16OfText(upToBang))}\r\n`;
}

/** Fixtures with a CRC, and the offset just after their last CRC digit. */
const crcFixtures = telegramFiles()
  .map((name) => ({ name, bytes: fixtureBytes(name) }))
  .filter(({ bytes }) => /\r\n![0-9A-F]{1,4}\r\n/.test(bytes.toString('latin1')))
  .map(({ name, bytes }) => ({ name, bytes, end: bytes.toString('latin1').search(/\r\n\r?$/) }));

describe('framer and parser properties', () => {
  it('random bytes never throw, and whatever they frame parses without throwing', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        for (const raw of readings(frameAll(chunks).events)) parseTelegram(raw);
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
});

// On both front ends that frame DSMR text: the telegram framer, and the frame detector that reads every source.
describe.each(FRONT_ENDS.map(([name]) => name))('framing properties on the %s', (frontEnd: FrontEnd) => {
  const frame = (chunks: Uint8Array[]): FrameEvent[] => frameAll(chunks, frontEnd).events;

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

    it('a stream of valid telegrams (7E1-coded and 8N1) with junk between them, cut anywhere, yields exactly those telegrams', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(junkArb, telegramArb), { minLength: 1, maxLength: 10 }), junkArb, cutsArb, (parts, tail, cuts) => {
          const stream = Buffer.concat([...parts.flatMap(([junk, telegram]) => [junk, telegram.bytes]), tail]);
          expect(readings(frameAll(chunked(stream, cuts), frontEnd).events)).toEqual(parts.map(([, telegram]) => telegram.text));
        }),
        { numRuns: 1000 },
      );
    });

    it('a valid telegram with "/" put into any value is still that one telegram, and a text value keeps it', () => {
      const valueChar = fc.constantFrom(...'/ABCxyz019-: .'.split(''));
      fc.assert(
        fc.property(telegramArb, fc.nat(), fc.nat(), fc.array(valueChar, { maxLength: 6 }), (telegram, lineChoice, offset, more) => {
          const lines = telegram.text.split('\r\n');
          const valueLines = lines.flatMap((line, i) => (/^[0-9A-Za-z:.*-]+\(/.test(line) && line.endsWith(')') ? [i] : []));
          const index = valueLines[lineChoice % valueLines.length]!;
          const line = lines[index]!;
          const open = line.lastIndexOf('(');
          const at = open + 1 + (offset % (line.length - open - 1));
          const inserted = `/${more.join('')}`;
          lines[index] = `${line.slice(0, at)}${inserted}${line.slice(at)}`;
          const text = withFreshCrc(lines.join('\r\n'));
          const bytes = telegram.sevenBit ? as7E1(text) : Buffer.from(text, 'latin1');
          expect(readings(frameAll([bytes], frontEnd).events)).toEqual([text]);
          const reference = line.slice(0, line.indexOf('('));
          const before = parseTelegram(telegram.text).objects[reference];
          // A value kept as sent (text, ids, unknown references) keeps the "/" too.
          if (line.indexOf('(') === open && before?.value === line.slice(open + 1, -1)) {
            expect(parseTelegram(text).objects[reference]?.value).toBe(`${line.slice(open + 1, at)}${inserted}${line.slice(at, -1)}`);
          }
        }),
        { numRuns: 1000 },
      );
    });
});
