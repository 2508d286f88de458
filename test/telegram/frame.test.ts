import { describe, expect, it } from 'vitest';
import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import { crc16OfText, formatCrc } from '../../src/telegram/crc16.js';
import { fixtureBytes } from '../support/fixtures.js';

const v5 = fixtureBytes('V5.txt');
const v22 = fixtureBytes('V2_2.txt');

function run(chunks: Uint8Array[]): { events: FrameEvent[]; framer: TelegramFramer } {
  const framer = new TelegramFramer();
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

describe('TelegramFramer', () => {
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
    const framer = new TelegramFramer();
    expect(telegrams(framer.push(bare))).toEqual([]); // a live stream: the line end may still come
    expect(framer.end()).toEqual([{ type: 'telegram', raw: bare.toString('latin1'), crc: 'none' }]);
  });

  it('reads a telegram without CRC and without line end on a live stream when the next "/" arrives', () => {
    const bare = v22.subarray(0, v22.length - 2);
    const framer = new TelegramFramer();
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
    const framer = new TelegramFramer({ maxTelegramBytes: 1024 });
    const events = [...framer.push(Buffer.concat([Buffer.from('/'), Buffer.alloc(2000, 0x41)])), ...framer.push(v5)];
    expect(events[0]).toEqual({ type: 'truncated', bytes: 2001 });
    expect(telegrams(events)).toEqual([v5.toString('latin1')]);
  });
});

function evenParityBit(byte: number): boolean {
  let ones = 0;
  for (let b = byte; b > 0; b >>= 1) ones += b & 1;
  return ones % 2 === 1;
}

describe('TelegramFramer with 7E1 data', () => {
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
