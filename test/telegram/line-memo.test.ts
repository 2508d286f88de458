import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TelegramFramer } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import type { Telegram } from '../../src/telegram/types.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { fixtureBytes, hasSharedCorpus, sharedCorpusDir, telegramFiles } from '../support/fixtures.js';

/** Every telegram of the fixtures and of the shared corpus, as framed text. */
function corpus(): string[] {
  const texts: string[] = [];
  const dirs = hasSharedCorpus() ? [undefined, sharedCorpusDir] : [undefined];
  for (const dir of dirs) {
    for (const name of telegramFiles(dir)) {
      for (const event of new TelegramFramer().push(fixtureBytes(name, dir))) if (event.type === 'telegram') texts.push(event.raw);
    }
  }
  return texts;
}

/** A telegram that shares no line with any other: after it, the parser has nothing to reuse. */
const UNRELATED = '/XYZ5 unrelated\r\n\r\n!';

/** The parse of `raw` with nothing remembered from an earlier telegram. */
function coldParse(raw: string, timeZone?: string): Telegram {
  parseTelegram(UNRELATED);
  return parseTelegram(raw, timeZone === undefined ? {} : { timeZone });
}

/** A telegram's lines changed the ways consecutive telegrams (and broken ones) differ. */
function mutate(raw: string, edits: Array<{ line: number; how: 'digit' | 'drop' | 'repeat' | 'blank' | 'junk' }>): string {
  const lines = raw.split('\n');
  for (const { line, how } of edits) {
    const at = 1 + (line % Math.max(1, lines.length - 2));
    const text = lines[at] ?? '';
    if (how === 'digit') lines[at] = text.replace(/\d(?=[^\d]*$)/, (d) => String((Number(d) + 1) % 10));
    else if (how === 'drop') lines.splice(at, 1);
    else if (how === 'repeat') lines.splice(at, 0, text);
    else if (how === 'blank') lines[at] = '\r';
    else lines[at] = `${text.slice(0, 4)}(oops\r`;
  }
  return lines.join('\n');
}

describe('reusing the objects of lines that repeat from the previous telegram', () => {
  const texts = corpus();

  it('gives every telegram of a sequence exactly the parse it gets on its own', () => {
    const edit = fc.record({ line: fc.nat(80), how: fc.constantFrom('digit', 'drop', 'repeat', 'blank', 'junk' as const) });
    // Two or three telegrams of the corpus, repeated and edited: consecutive telegrams of one meter share most lines.
    const sequence = fc.uniqueArray(fc.nat(texts.length - 1), { minLength: 1, maxLength: 3 }).chain((pool) =>
      fc.array(
        fc.record({
          text: fc.constantFrom(...pool),
          edits: fc.array(edit, { maxLength: 3 }),
          timeZone: fc.constantFrom(undefined, 'Europe/Amsterdam', 'UTC'),
        }),
        { minLength: 2, maxLength: 12 },
      ),
    );
    fc.assert(
      fc.property(sequence, (steps) => {
        const telegrams = steps.map((s) => ({ raw: mutate(texts[s.text]!, s.edits), timeZone: s.timeZone }));
        const warm = telegrams.map((s) => parseTelegram(s.raw, s.timeZone === undefined ? {} : { timeZone: s.timeZone }));
        const cold = telegrams.map((s) => coldParse(s.raw, s.timeZone));
        expect(warm).toEqual(cold);
      }),
      { numRuns: 300 },
    );
  });

  it('reuses unchanged lines of a meter telegram after telegram, and parses the changed ones anew', () => {
    const meter = new VirtualMeter({ dsmr: '5', startMs: Date.UTC(2024, 0, 1) });
    let previous: Telegram | undefined;
    let shared = 0;
    for (let i = 0; i < 50; i++) {
      const raw = meter.telegramAt(Date.UTC(2024, 0, 1) + i * 1000);
      const telegram = parseTelegram(raw);
      expect(telegram).toEqual(coldParse(raw));
      parseTelegram(raw); // coldParse left the memo on UNRELATED: this telegram is the previous one again
      if (previous !== undefined) {
        for (const [reference, object] of Object.entries(telegram.objects)) if (previous.objects[reference] === object) shared++;
        expect(telegram.objects['0-0:1.0.0']).not.toBe(previous.objects['0-0:1.0.0']);
      }
      previous = parseTelegram(raw);
    }
    // The equipment ids, the version, the failure log and the registers that held still were not parsed again.
    expect(shared).toBeGreaterThan(49 * 10);
  });

  it('parses local times anew when the time zone changes', () => {
    const raw = '/XMX5 local times\r\n\r\n0-1:24.2.1(240101120000)(00100.000*m3)\r\n!\r\n';
    const amsterdam = parseTelegram(raw, { timeZone: 'Europe/Amsterdam' });
    const utc = parseTelegram(raw, { timeZone: 'UTC' });
    expect(amsterdam.objects['0-1:24.2.1']?.time).toBe('2024-01-01T12:00:00+01:00');
    expect(utc.objects['0-1:24.2.1']?.time).toBe('2024-01-01T12:00:00+00:00');
  });

  it('never shares a DSMR 2.2 gas object, which the line after it completes', () => {
    const v22 = texts.find((t) => t.includes('0-1:24.3.0') && /\)\r?\n\(/.test(t));
    expect(v22, 'a DSMR 2.2 telegram with its gas value on the next line').toBeDefined();
    const first = parseTelegram(v22!);
    const second = parseTelegram(v22!);
    expect(second.objects['0-1:24.3.0']).toEqual(first.objects['0-1:24.3.0']);
    expect(second.objects['0-1:24.3.0']).not.toBe(first.objects['0-1:24.3.0']);
  });
});
