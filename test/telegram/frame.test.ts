import { beforeAll, describe, expect, it } from 'vitest';
import type { FrameEvent, FramerOptions } from '../../src/telegram/frame.js';
import { crc16OfText, formatCrc } from '../../src/telegram/crc16.js';
import { fixtureBytes } from '../support/fixtures.js';
import { FRONT_ENDS, type Framer } from '../support/telegram-streams.js';

const v5 = fixtureBytes('V5.txt');
const v22 = fixtureBytes('V2_2.txt');

let newFramer: (options?: FramerOptions) => Framer = FRONT_ENDS[0]![1];

function run(chunks: Uint8Array[]): { events: FrameEvent[]; framer: Framer } {
  const framer = newFramer();
  const events = chunks.flatMap((c) => framer.push(c));
  events.push(...framer.end());
  return { events, framer };
}

const telegrams = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'telegram' ? [e.raw] : []));

/** A telegram with a freshly computed CRC (as a DSMR 5 meter would send it). */
function withCrc(body: string): string {
  const upToBang = `${body}!`;
  return `${upToBang}${formatCrc(crc16OfText(upToBang))}\r\n`;
}

describe.each(FRONT_ENDS)('%s', (name, make) => {
  beforeAll(() => {
    newFramer = make;
  });

  describe('framing', () => {
    it('frames a telegram fed one byte at a time', () => {
      const { events } = run([...v5].map((b) => Uint8Array.of(b)));
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
    });

    it('resynchronises on garbage between telegrams and counts it as junk', () => {
      const stream = Buffer.concat([Buffer.from('garbage\r\n'), v5, Buffer.from('\x00\x01noise'), v22, Buffer.from('tail')]);
      const { events, framer } = run([stream]);
      expect(telegrams(events)).toEqual([v5.toString('latin1'), v22.toString('latin1')]);
      expect(framer.stats).toMatchObject({ telegrams: 2, junkBytes: 9 + 7 + 4, crcErrors: 0, truncated: 0 });
    });

    it('drops a truncated telegram when a new "/" starts, and keeps the next one', () => {
      const cut = v5.subarray(0, 300);
      const { events, framer } = run([cut, v5]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(events[0]).toEqual({ type: 'truncated', bytes: 300 });
      expect(framer.stats.truncated).toBe(1);
    });

    it('drops a telegram cut off at the end of the stream', () => {
      const { events, framer } = run([v5.subarray(0, v5.length - 4)]);
      expect(telegrams(events)).toEqual([]);
      expect(framer.stats.truncated).toBe(1);
    });

    it('accepts a telegram whose stream ends right after the CRC digits', () => {
      const { events } = run([v5.subarray(0, v5.length - 2)]);
      expect(telegrams(events)).toHaveLength(1);
    });

    it('reads a telegram without CRC that ends the input at its "!" once the input ends', () => {
      const bare = v22.subarray(0, v22.length - 2); // no CR LF after "!"
      const framer = newFramer();
      expect(telegrams(framer.push(bare))).toEqual([]); // a live stream: the line end may still come
      expect(framer.end()).toEqual([{ type: 'telegram', raw: bare.toString('latin1'), crc: 'none' }]);
    });

    it('reads a telegram without CRC and without line end on a live stream when the next "/" arrives', () => {
      const bare = v22.subarray(0, v22.length - 2);
      const framer = newFramer();
      expect(telegrams([...framer.push(bare), ...framer.push(v5)])).toEqual([bare.toString('latin1'), v5.toString('latin1')]);
    });

    it('counts a DSMR 4/5 telegram that ends the input at its "!" (CRC not sent yet) as truncated', () => {
      const { events, framer } = run([v5.subarray(0, v5.indexOf('!') + 1)]);
      expect(events).toEqual([{ type: 'truncated', bytes: v5.indexOf('!') + 1 }]);
      expect(framer.stats.invalid).toBe(0);
    });

    it('never reports a telegram with a wrong CRC as a reading, and says why', () => {
      const bad = Buffer.from(v5.toString('latin1').replace('000004.426', '000004.427'), 'latin1');
      const { events, framer } = run([bad, v5]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(events[0]).toMatchObject({ type: 'rejected', code: 'P1_CRC_MISMATCH' });
      expect(framer.stats.crcErrors).toBe(1);
    });

    it('accepts a CRC written with fewer than four digits (unpadded)', () => {
      const { events } = run([fixtureBytes('UNPADDED_CRC.txt')]);
      expect(events).toEqual([{ type: 'telegram', raw: fixtureBytes('UNPADDED_CRC.txt').toString('latin1'), crc: 'ok' }]);
    });

    it('rejects a DSMR 4/5 telegram whose CRC is missing', () => {
      const text = v5.toString('latin1').replace('!6EEE', '!');
      const { events } = run([Buffer.from(text, 'latin1')]);
      expect(events).toEqual([expect.objectContaining({ type: 'rejected', code: 'P1_TELEGRAM_INVALID', reason: 'DSMR 4/5 telegram without its CRC' })]);
    });

    it('knows a DSMR 4/5 telegram by its meter time with a lower-case season flag too', () => {
      const text = v5.toString('latin1').replace('!6EEE', '!').replace('(170102192002W)', '(170102192002w)');
      const { events } = run([Buffer.from(text, 'latin1')]);
      expect(events).toEqual([expect.objectContaining({ type: 'rejected', code: 'P1_TELEGRAM_INVALID', reason: 'DSMR 4/5 telegram without its CRC' })]);
    });

    it('knows the first lines of a DSMR 4/5 telegram cut off and followed by "!" by their version line', () => {
      const head = v5.subarray(0, v5.indexOf('0-0:1.0.0'));
      expect(run([Buffer.concat([head, Buffer.from('!\r\n')])]).events).toEqual([
        expect.objectContaining({ type: 'rejected', code: 'P1_TELEGRAM_INVALID', reason: 'DSMR 4/5 telegram without its CRC' }),
      ]);
      expect(run([Buffer.concat([head, Buffer.from('!')])]).events).toEqual([{ type: 'truncated', bytes: head.length + 1 }]);
    });

    it('rejects a malformed trailer', () => {
      const { events } = run([Buffer.from(withCrc('/X\r\n\r\n1-0:1.8.1(1*kWh)\r\n').replace(/\r\n$/, 'Z\r\n'), 'latin1')]);
      expect(events[0]).toMatchObject({ type: 'rejected', code: 'P1_TELEGRAM_INVALID' });
    });

    it('treats "!" inside a line as data, not as the end', () => {
      const body = '/X\r\n\r\n0-0:96.13.0(48!49)\r\n1-0:1.8.1(1*kWh)\r\n';
      const { events } = run([Buffer.from(withCrc(body), 'latin1')]);
      expect(telegrams(events)).toEqual([withCrc(body)]);
    });

    it('survives 0xFF padding after the last telegram', () => {
      const { events, framer } = run([v22, Buffer.alloc(64, 0xff)]);
      expect(telegrams(events)).toHaveLength(1);
      expect(framer.stats.junkBytes).toBe(64);
    });

    it('recognises 7E1 data read at 8N1, masks the parity bit and hints once', () => {
      const withParity = Buffer.from([...v22, ...v22].map((b) => (evenParityBit(b) ? b | 0x80 : b)));
      const { events } = run([withParity.subarray(0, 100), withParity.subarray(100)]);
      expect(telegrams(events)).toEqual([v22.toString('latin1'), v22.toString('latin1')]);
      expect(events.filter((e) => e.type === 'hint')).toEqual([expect.objectContaining({ code: 'P1_PARITY_7E1' })]);
    });

    it('drops a "/" followed by more than the maximum telegram size without an end', () => {
      const framer = newFramer({ maxTelegramBytes: 1024 });
      const events = [...framer.push(Buffer.concat([Buffer.from('/'), Buffer.alloc(2000, 0x41)])), ...framer.push(v5)];
      // The framer counts the run up to the next start byte as a telegram cut off; the detector counts it as junk,
      // as a first line longer than 256 bytes is no identification line (and a binary frame in it is read).
      expect(events[0]).toEqual(name === 'TelegramFramer' ? { type: 'truncated', bytes: 2001 } : { type: 'junk', bytes: 2001 });
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
    });
  });

  function evenParityBit(byte: number): boolean {
    let ones = 0;
    for (let b = byte; b > 0; b >>= 1) ones += b & 1;
    return ones % 2 === 1;
  }

  describe('with 7E1 data', () => {
    it('rejects a telegram with a parity error (the only check a DSMR 2.2/3 telegram has)', () => {
      const withParity = Buffer.from([...v22].map((b) => (evenParity(b) ? b : b | 0x80)));
      withParity[40] = withParity[40]! ^ 0x01;
      const { events } = run([withParity]);
      expect(telegrams(events)).toEqual([]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'rejected', reason: 'parity error in a telegram without CRC' }));
    });

    it('returns to 8N1 framing when plain telegrams follow', () => {
      const withParity = Buffer.from([...v22].map((b) => (evenParity(b) ? b : b | 0x80)));
      const { events } = run([withParity, v5]);
      expect(telegrams(events)).toEqual([v22.toString('latin1'), v5.toString('latin1')]);
    });
  });

  function evenParity(byte: number): boolean {
    return !evenParityBit(byte);
  }

  /** A telegram as a DSMR 2.2/3 meter (9600 7E1) sends it, read by a port opened 8N1: bit 7 is the parity bit. */
  function as7E1(bytes: Uint8Array): Buffer {
    return Buffer.from([...bytes].map((b) => (evenParityBit(b) ? b | 0x80 : b)));
  }

  const hints = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'hint' ? [e.code] : []));

  describe('parity is decided per telegram', () => {
    it('reads good 8N1 telegrams after noise that holds 0xAF bytes, and gives no 7E1 hint', () => {
      const noise = Buffer.from(Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 0xaf : (i * 37 + 11) & 0x7f)));
      const { events, framer } = run([Buffer.concat([noise, v5, v5, v5])]);
      expect(telegrams(events)).toEqual([v5, v5, v5].map((t) => t.toString('latin1')));
      expect(hints(events)).toEqual([]);
      expect(framer.stats.telegrams).toBe(3);
    });

    it('reads every telegram of a stream that mixes 7E1-coded and 8N1 telegrams, in one chunk or byte by byte', () => {
      const stream = Buffer.concat([as7E1(v22), v5, as7E1(v22), v5, as7E1(v22)]);
      const expected = [v22, v5, v22, v5, v22].map((t) => t.toString('latin1'));
      expect(telegrams(run([stream]).events)).toEqual(expected);
      expect(telegrams(run([...stream].map((b) => Uint8Array.of(b))).events)).toEqual(expected);
    });

    it('hints P1_PARITY_7E1 once, when the first whole telegram was read with parity bits', () => {
      const { events } = run([v5, as7E1(v22), as7E1(v22)]);
      expect(hints(events)).toEqual(['P1_PARITY_7E1']);
      expect(events.findIndex((e) => e.type === 'hint')).toBe(1); // after the 8N1 telegram, before the first 7E1 one
    });

    it('gives no 7E1 hint for a 7E1-coded telegram that was cut off or damaged', () => {
      const damaged = as7E1(v22);
      damaged[60] = damaged[60]! ^ 0x02;
      const { events } = run([as7E1(v22).subarray(0, 200), v5, damaged]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(hints(events)).toEqual([]);
    });
  });

  describe('"/" inside a telegram is data', () => {
    const withMessage = (text: string): Buffer =>
      Buffer.from(v22.toString('latin1').replace('0-0:96.13.0()', `0-0:96.13.0(${text})`), 'latin1');

    it('reads a DSMR 2.2 telegram whose text message holds "/" as one reading with its own header', () => {
      const t = withMessage('test-/-test');
      const { events } = run([t]);
      expect(events).toEqual([{ type: 'telegram', raw: t.toString('latin1'), crc: 'none' }]);
    });

    it('reads a DSMR 5 telegram with "/" in a value (CRC over it)', () => {
      const body = v5.toString('latin1').slice(0, v5.indexOf('!'));
      const t = withCrc(body.replace('0-0:96.13.0()', '0-0:96.13.0(/ISK5 a/b//c)'));
      expect(telegrams(run([Buffer.from(t, 'latin1')]).events)).toEqual([t]);
    });

    it('finds a telegram hidden behind junk that holds a "/" and letters', () => {
      const junk = Buffer.from('\x00\x13noise /ABC de/fg 12/34\r\n/X\r\n', 'latin1');
      for (const next of [v5, v22]) {
        const { events } = run([junk, next]);
        expect(telegrams(events)).toEqual([next.toString('latin1')]);
      }
    });

    it('rescans a telegram without CRC cut short by the next one, wherever the cut is', () => {
      for (const cut of [2, 5, 20, 100, v22.indexOf('0-0:96.14.0'), v22.indexOf('0-0:96.14.0') + 11, v22.length - 3]) {
        const { events, framer } = run([v22.subarray(0, cut), v22]);
        expect(telegrams(events), `cut at ${cut}`).toEqual([v22.toString('latin1')]);
        expect(framer.stats, `cut at ${cut}`).toMatchObject({ truncated: 1, invalid: 0 });
      }
    });

    it('reads a telegram whose "/" follows a stray "/" (the header is the meter\'s)', () => {
      const { events } = run([Buffer.from('//'), v22]);
      expect(telegrams(events)).toEqual([v22.toString('latin1')]);
    });

    it('counts a telegram with a wrong CRC and "/" in its values as one CRC error', () => {
      const body = v5.toString('latin1').slice(0, v5.indexOf('!'));
      const bad = withCrc(body.replace('0-0:96.13.0()', '0-0:96.13.0(a/Bc/De)')).replace(/![0-9A-F]{4}/, '!0000');
      const { events, framer } = run([Buffer.from(bad, 'latin1'), v5]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(framer.stats).toMatchObject({ crcErrors: 1, invalid: 0, truncated: 0 });
      expect(events[0]).toMatchObject({ type: 'rejected', code: 'P1_CRC_MISMATCH', raw: bad });
    });

    it('reports a damaged telegram behind noise as a CRC error, whatever false starts the noise holds', () => {
      const damaged = Buffer.from(v5.toString('latin1').replace('000004.426', '000004.427'), 'latin1');
      // 0xAF and a letter with its parity bit: a 7E1 false start whose "header line" runs into the telegram.
      for (const noise of [Buffer.from([0x01, 0xaf, 0xc9, 0x53, 0x02]), Buffer.from('\x01/Abc\x02', 'latin1')]) {
        const { events, framer } = run([noise, damaged, v5]);
        expect(telegrams(events)).toEqual([v5.toString('latin1')]);
        expect(framer.stats).toMatchObject({ crcErrors: 1, invalid: 0 });
      }
    });

    it('never lets a candidate grow past the telegram size limit, and finds the telegram after it', () => {
      const framer = newFramer({ maxTelegramBytes: 1024 });
      const events: FrameEvent[] = [];
      // A false start that never ends, fed in small chunks, then a telegram: the buffer stays near the limit.
      const falseStart = Buffer.concat([Buffer.from('/Abc\r\n'), Buffer.alloc(5000, 0x41)]);
      let peak = 0;
      for (let i = 0; i < falseStart.length; i += 64) {
        events.push(...framer.push(falseStart.subarray(i, i + 64)));
        peak = Math.max(peak, framer.bufferedBytes);
      }
      events.push(...framer.push(v5), ...framer.end());
      expect(peak).toBeLessThanOrEqual(1024 + 64);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(framer.stats.truncated).toBe(1);
    });

    it('drops a telegram longer than the size limit even when its end arrives in the same chunk', () => {
      const framer = newFramer({ maxTelegramBytes: 256 });
      const events = [...framer.push(Buffer.concat([v5, v22])), ...framer.end()];
      expect(telegrams(events)).toEqual([]);
      expect(framer.stats.truncated).toBeGreaterThanOrEqual(2);
    });
  });

  describe('a telegram cut short and joined to the next', () => {
    const v4 = fixtureBytes('V4_2.txt');
    const bodyOf = (t: Buffer): string => t.toString('latin1').slice(0, t.indexOf('!') + 1);
    const sentCrc = (t: Buffer): number => parseInt(/!([0-9A-F]{4})/.exec(t.toString('latin1'))![1]!, 16);

    /** CRC-16/ARC bit by bit from any register value (the test's own, to search collisions quickly). */
    function arc(text: string, register: number): number {
      let crc = register;
      for (let i = 0; i < text.length; i++) {
        crc ^= text.charCodeAt(i);
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
      }
      return crc;
    }

    /**
     * A cut-off start `prefix(n)` for which the joined text `prefix + next` passes `next`'s CRC (once in 65,536).
     * The CRC is linear in its register: crc(prefix + body) = M(crc(prefix)) ^ crc(body), M found from 16 registers.
     */
    function collidingPrefix(base: string, suffix: (n: number) => string, next: Buffer): string {
      const body = bodyOf(next);
      const atBase = arc(base, 0);
      const alone = arc(body, 0);
      const columns = Array.from({ length: 16 }, (_, k) => arc(body, 1 << k) ^ alone);
      const wanted = sentCrc(next);
      for (let n = 0; n < 1 << 20; n++) {
        const register = arc(suffix(n), atBase);
        let crc = alone;
        for (let k = 0; k < 16; k++) if (register & (1 << k)) crc ^= columns[k]!;
        if (crc === wanted) {
          expect(crc16OfText(base + suffix(n) + body)).toBe(wanted);
          return base + suffix(n);
        }
      }
      throw new Error('no collision found');
    }

    it('is no reading even when the joined bytes pass the CRC: the next telegram is read, what came before is truncated', () => {
      const prefix = collidingPrefix('/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(', (n) => String(n).padStart(7, '0'), v5);
      const { events, framer } = run([Buffer.from(prefix, 'latin1'), v5]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(framer.stats).toMatchObject({ telegrams: 1, truncated: 1, crcErrors: 0 });
    });

    it('is no reading when the next telegram is damaged and the joined bytes pass its CRC', () => {
      const damaged = Buffer.from(v4.toString('latin1').replace('(001581.123*kWh)', '(001581.124*kWh)'), 'latin1');
      const prefix = collidingPrefix('/ISk5\\2MT382-1000\r\n\r\n0-0:96.13.0(', (n) => n.toString(16).toUpperCase(), damaged);
      const { events, framer } = run([Buffer.from(prefix, 'latin1'), damaged]);
      expect(telegrams(events)).toEqual([]);
      expect(framer.stats).toMatchObject({ telegrams: 0, truncated: 1, crcErrors: 1 });
    });

    it('is no reading when the cut is in the header and the joined bytes pass the CRC', () => {
      const prefix = collidingPrefix('/XMX5', (n) => n.toString(36).toUpperCase(), v5);
      const { events, framer } = run([Buffer.from(prefix, 'latin1'), v5]);
      expect(telegrams(events)).toEqual([v5.toString('latin1')]);
      expect(framer.stats).toMatchObject({ truncated: 1, crcErrors: 0 });
    });
  });
});
