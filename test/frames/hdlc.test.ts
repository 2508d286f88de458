import { describe, expect, it } from 'vitest';
import { crc16x25 } from '../../src/frames/crc16-x25.js';
import { buildHdlcFrame, HdlcReassembler, LLC_HEADER, readHdlcFrame, readRelayedHdlcFrame, stripLlc } from '../../src/frames/hdlc.js';

const info = Buffer.concat([LLC_HEADER, Buffer.from('0f40000000000101', 'hex')]);

describe('CRC-16/X.25', () => {
  it('gives the check value of the catalogue for "123456789"', () => {
    expect(crc16x25(Buffer.from('123456789'))).toBe(0x906e);
  });
});

describe('readHdlcFrame', () => {
  it('reads a frame back: addresses, control, information', () => {
    const frame = buildHdlcFrame(info, { destination: 0x20, source: 0x01 });
    const read = readHdlcFrame(frame, 0, false);
    expect(read).toMatchObject({ kind: 'frame', end: frame.length - 1, frame: { segmented: false, destination: 0x20, source: 0x01, control: 0x13 } });
    if (read.kind !== 'frame') throw new Error('unreachable');
    expect(Buffer.from(stripLlc(read.frame.information))).toEqual(info.subarray(3));
  });

  it('waits for the rest of a frame cut by a chunk, and drops it at the end of the stream', () => {
    const frame = buildHdlcFrame(info);
    for (let cut = 1; cut < frame.length; cut++) {
      expect(readHdlcFrame(frame.subarray(0, cut), 0, false).kind, `cut at ${cut}`).toBe('need-more');
      expect(readHdlcFrame(frame.subarray(0, cut), 0, true).kind, `cut at ${cut}`).toBe('invalid');
    }
  });

  it('refuses a frame whose HCS or FCS does not match, and counts it as a CRC error', () => {
    const frame = buildHdlcFrame(info);
    for (let at = 1; at < frame.length - 1; at++) {
      const damaged = Buffer.from(frame);
      damaged[at]! ^= 0x10;
      const read = readHdlcFrame(damaged, 0, true);
      expect(read.kind, `byte ${at}`).toBe('invalid');
    }
    const badFcs = Buffer.from(frame);
    badFcs[frame.length - 2]! ^= 1;
    expect(readHdlcFrame(badFcs, 0, true)).toMatchObject({ kind: 'invalid', counted: true, reason: 'frame check sequence (FCS) does not match' });
    const badHcs = Buffer.from(frame);
    badHcs[5]! ^= 1;
    expect(readHdlcFrame(badHcs, 0, true)).toMatchObject({ kind: 'invalid', counted: true, reason: 'header check sequence (HCS) does not match' });
  });

  it('does not count a 0x7E that starts no frame as a CRC error', () => {
    expect(readHdlcFrame(Buffer.from('7e7e0102', 'hex'), 0, true)).toMatchObject({ kind: 'invalid', counted: false });
  });
});

describe('HdlcReassembler', () => {
  it('joins segments (S bit set on all but the last) into one information field', () => {
    const whole = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const parts = [whole.subarray(0, 100), whole.subarray(100, 200), whole.subarray(200)];
    const reassembler = new HdlcReassembler();
    const results = parts.map((part, i) => {
      const read = readHdlcFrame(buildHdlcFrame(part, { segmented: i < 2 }), 0, true);
      if (read.kind !== 'frame') throw new Error('not a frame');
      return reassembler.push(read.frame);
    });
    expect(results.slice(0, 2)).toEqual([null, null]);
    expect(Buffer.from(results[2]!)).toEqual(whole);
  });
});

describe('readRelayedHdlcFrame', () => {
  it('reads a frame whose every LF a text-mode relay wrote as CR LF', () => {
    const body = Buffer.from('0f4000000000010a0a0a', 'hex');
    const frame = buildHdlcFrame(Buffer.concat([LLC_HEADER, body]));
    const relayed = Buffer.from(frame.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
    expect(readHdlcFrame(relayed, 0, true).kind).toBe('invalid');
    const read = readRelayedHdlcFrame(relayed, 0, true);
    expect(read).toMatchObject({ kind: 'frame', checked: true, end: relayed.length - 1 });
    if (read.kind !== 'frame') throw new Error('unreachable');
    expect(Buffer.from(stripLlc(read.frame.information))).toEqual(body);
  });
});
