import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FrameEvent } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import type { CosemObject, Telegram } from '../../src/telegram/types.js';
import { sharedCorpusDir } from '../support/fixtures.js';
import { FRONT_ENDS } from '../support/telegram-streams.js';

/**
 * The acceptance test on streams nobody here wrote: telegrams from four other DSMR projects' test suites, byte for
 * byte as those projects feed them (see external/README.md), each with NAME.expected.json. The binary samples in
 * dlms/ and encrypted/ are not DSMR text and are left out.
 */
const externalDir = path.join(sharedCorpusDir, 'external');
const BINARY_FOLDERS = new Set(['dlms', 'encrypted']);

interface Expected {
  /** Readings the file gives; 1 unless stated (0 for a telegram without its "!" line). */
  count?: number;
  /** "bad": the telegram's CRC is wrong: no reading, one CRC error. */
  crc?: 'bad';
  /** Values by OBIS reference: a number or string (the object's value), `{ value, time }`, or a list of entries. */
  objects?: Record<string, unknown>;
  /** The meter time (0-0:1.0.0), null when it is not a date. */
  time?: string | null;
  object_count?: number;
}

function textFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return BINARY_FOLDERS.has(entry.name) ? [] : textFiles(full);
      return entry.name.endsWith('.txt') ? [full] : [];
    })
    .sort();
}

/** `actual` has every key `expected` names, with the same value (times as written, offsets included). */
function agrees(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => agrees(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    return Object.entries(expected).every(([key, value]) => agrees((actual as Record<string, unknown>)[key], value));
  }
  return Object.is(actual, expected) || (actual === 0 && expected === 0);
}

/** What the expected file's form compares with: the value, or the whole object for `{ value, time }`. */
function comparable(object: CosemObject | undefined, expected: unknown): unknown {
  if (object === undefined) return undefined;
  return expected !== null && typeof expected === 'object' && !Array.isArray(expected) ? object : object.value;
}

const files = textFiles(externalDir);

describe.skipIf(!existsSync(externalDir))('the external corpus (other projects’ telegrams)', () => {
  it('holds the telegrams of every project', () => {
    expect(files.length).toBeGreaterThanOrEqual(75);
  });

  // Through the telegram framer, and through the frame detector in front of it that every source reads with.
  for (const [file, [frontEnd, newFramer]] of files.flatMap((f) => FRONT_ENDS.map((e) => [f, e] as const))) {
    const name = path.relative(externalDir, file);
    it(`${name} gives the readings and values expected (${frontEnd})`, () => {
      const expected = JSON.parse(readFileSync(file.replace(/\.txt$/, '.expected.json'), 'utf8')) as Expected;
      const framer = newFramer();
      const events: FrameEvent[] = [...framer.push(readFileSync(file)), ...framer.end()];
      const readings = events.flatMap((e) => (e.type === 'telegram' ? [e] : []));
      const count = expected.count ?? (expected.crc === 'bad' ? 0 : 1);
      expect(readings, 'readings').toHaveLength(count);
      if (expected.crc === 'bad') expect(framer.stats.crcErrors, 'CRC errors').toBe(1);

      // A refused telegram's values are still checked on its text: the parser reads what the line says.
      const rejected = events.find((e) => e.type === 'rejected');
      const source = readings.at(-1) ?? (expected.crc === 'bad' ? rejected : undefined);
      const wanted = Object.entries(expected.objects ?? {});
      if (source === undefined) {
        expect(wanted, 'values expected but nothing to read them from').toEqual([]);
        return;
      }
      const telegram: Telegram = parseTelegram(source.raw);
      const disagreements = wanted.flatMap(([reference, value]) => {
        const actual = comparable(telegram.objects[reference], value);
        return agrees(actual, value) ? [] : [{ reference, actual, expected: value }];
      });
      expect(disagreements).toEqual([]);
      if (expected.time !== undefined) expect(telegram.time, 'meter time').toBe(expected.time);
      if (expected.object_count !== undefined) expect(Object.keys(telegram.objects)).toHaveLength(expected.object_count);
    });
  }
});
