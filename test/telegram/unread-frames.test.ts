import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TelegramFramer, type FrameEvent } from '../../src/telegram/frame.js';
import { fixtureBytes, sharedCorpusDir } from '../support/fixtures.js';

const v5 = fixtureBytes('V5.txt');

function run(chunks: Uint8Array[]): { events: FrameEvent[]; framer: TelegramFramer } {
  const framer = new TelegramFramer();
  const events = [...chunks.flatMap((c) => framer.push(c)), ...framer.end()];
  return { events, framer };
}

const hints = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'hint' ? [e.code] : []));
const hintMessage = (events: FrameEvent[]): string => events.flatMap((e) => (e.type === 'hint' ? [e.message] : [])).join('\n');
const telegrams = (events: FrameEvent[]): string[] => events.flatMap((e) => (e.type === 'telegram' ? [e.raw] : []));

/** CRC-16/X.25, bit by bit (the test's own oracle for HDLC check sequences). */
function x25(bytes: number[]): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    for (let bit = 0; bit < 8; bit++) {
      const mix = (crc ^ (byte >> bit)) & 1;
      crc >>>= 1;
      if (mix) crc ^= 0x8408;
    }
  }
  return ~crc & 0xffff;
}

/** An HDLC frame (format type 3) with an LLC header and `apdu` as its information field, valid HCS and FCS. */
function hdlcFrame(apdu: number[]): Buffer {
  const length = 2 + 1 + 1 + 1 + 2 + 3 + apdu.length + 2;
  const head = [0xa0 | (length >> 8), length & 0xff, 0x41, 0x08 | 0x01, 0x13];
  const hcs = x25(head);
  const body = [...head, hcs & 0xff, hcs >> 8, 0xe6, 0xe7, 0x00, ...apdu];
  const fcs = x25(body);
  return Buffer.from([0x7e, ...body, fcs & 0xff, fcs >> 8, 0x7e]);
}

/** Bytes that look like a DSMR start to a careless framer: '/' and 0xAF followed by letters, line ends, '!'. */
const decoys = [...Buffer.from('/ISk5\r\n!\r\n'), 0xaf, 0xc9, 0xd3, 0x6b, 0x2f, 0x41, 0x0a, 0x21, 0x7e, 0xdb];

/** General-glo-ciphering as a Luxembourg Smarty sends it: 0xDB, system title, length, 0x30, counter, data, tag. */
function gcmFrame(payload: number[]): Buffer {
  const length = 1 + 4 + payload.length + 12;
  const title = [...Buffer.from('SAG'), 0x10, 0x20, 0x30, 0x40, 0x50];
  return Buffer.from([0xdb, 0x08, ...title, 0x82, length >> 8, length & 0xff, 0x30, 0, 0, 0, 7, ...payload, ...new Array<number>(12).fill(0x5a)]);
}

const notification = (n: number): number[] => [0x0f, 0x40, 0, 0, 0, ...Array.from({ length: n }, (_, i) => decoys[i % decoys.length]!)];

describe('TelegramFramer: binary frames it does not read yet', () => {
  it('says once that an HDLC stream is DLMS, counts its bytes as junk, and never hints 7E1 or counts a truncated telegram', () => {
    const stream = Buffer.concat(Array.from({ length: 20 }, (_, i) => hdlcFrame(notification(100 + i * 7))));
    const { events, framer } = run([...stream].map((b) => Uint8Array.of(b)));
    expect(hints(events)).toEqual(['P1_STREAM_DLMS']);
    expect(framer.stats).toEqual({ telegrams: 0, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: stream.length });
    expect(hintMessage(events)).toContain('DLMS');
  });

  it('says an HDLC frame that carries general-glo-ciphering is encrypted too', () => {
    const { events } = run([hdlcFrame([...gcmFrame(notification(60))])]);
    expect(hints(events)).toEqual(['P1_STREAM_DLMS', 'P1_STREAM_ENCRYPTED']);
  });

  it('says once that a stream is encrypted (0xDB, Luxembourg Smarty) and what it needs, counting its bytes as junk', () => {
    const stream = Buffer.concat(Array.from({ length: 10 }, (_, i) => gcmFrame(notification(400 + i))));
    const { events, framer } = run([stream.subarray(0, 1000), stream.subarray(1000)]);
    expect(hints(events)).toEqual(['P1_STREAM_ENCRYPTED']);
    expect(hintMessage(events)).toContain('decryption key');
    expect(framer.stats).toEqual({ telegrams: 0, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: stream.length });
  });

  it('reads DSMR telegrams between binary frames', () => {
    const { events } = run([Buffer.concat([hdlcFrame(notification(50)), v5, gcmFrame(notification(50)), v5])]);
    expect(telegrams(events)).toEqual([v5.toString('latin1'), v5.toString('latin1')]);
  });

  it('does not claim an HDLC-looking start whose check sequence is wrong: the telegram behind it is read', () => {
    const frame = hdlcFrame(notification(50));
    frame[frame.length - 3] = frame[frame.length - 3]! ^ 0x01;
    // A flag and a format whose length covers the telegram that follows.
    const falseStart = Buffer.from([0x7e, 0xa4, 0x00]);
    const { events } = run([Buffer.concat([frame, falseStart, v5])]);
    expect(telegrams(events)).toEqual([v5.toString('latin1')]);
    expect(hints(events)).toEqual([]);
  });
});

/** The binary samples of the external corpus (the later DLMS issue reads them; here they must only be recognised). */
const external = path.join(sharedCorpusDir, 'external');
const binaries = existsSync(external)
  ? readdirSync(external, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.bin'))
      .sort()
  : [];

describe.skipIf(binaries.length === 0)('the external corpus’ binary samples', () => {
  for (const name of binaries) {
    const bytes = (): Buffer => readFileSync(path.join(external, name));
    type Expected = { crc?: string; hdlc?: Array<{ fcs_ok?: boolean }> };
    const expected = (): Expected => JSON.parse(readFileSync(path.join(external, name.replace(/\.bin$/, '.expected.json')), 'utf8')) as Expected;
    /** Frames whose check sequence holds are recognised; a capture that mangled them (OSS brikken) is noise. */
    const checksOut = (e: Expected): boolean => e.crc !== 'bad' && !(e.hdlc ?? []).some((h) => h.fcs_ok === false);
    it(`${name}: no reading, no 7E1 hint, nothing counted as a truncated telegram`, () => {
      const { events, framer } = run([bytes()]);
      expect(telegrams(events)).toEqual([]);
      expect(hints(events)).not.toContain('P1_PARITY_7E1');
      expect(framer.stats.truncated).toBe(0);
      const first = bytes()[0];
      if (first === 0x7e && checksOut(expected())) expect(hints(events)).toContain('P1_STREAM_DLMS');
      if (first === 0xdb) expect(hints(events)).toEqual(['P1_STREAM_ENCRYPTED']);
    });
  }
});
