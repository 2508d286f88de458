import { describe, expect, it } from 'vitest';
import { buildMbusFrames, MbusReassembler, readMbusFrame } from '../../src/frames/mbus.js';

const apdu = Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7) & 0xff));

function readAll(frames: Buffer[]): Array<Uint8Array | null> {
  const reassembler = new MbusReassembler();
  return frames.map((frame) => {
    const read = readMbusFrame(frame, 0, true);
    if (read.kind !== 'frame') throw new Error(`not a frame: ${read.kind}`);
    expect(read.end).toBe(frame.length);
    return reassembler.push(read.frame);
  });
}

describe('wired M-Bus long frames', () => {
  it('carry an APDU in numbered segments, the last marked in the CI field', () => {
    const frames = buildMbusFrames(apdu);
    expect(frames.map((f) => f[6])).toEqual([0x00, 0x01, 0x12]);
    const results = readAll(frames);
    expect(results.slice(0, -1)).toEqual([null, null]);
    expect(Buffer.from(results.at(-1)!)).toEqual(apdu);
  });

  it('refuse a frame whose checksum does not match (counted) and bytes that are no long frame (not counted)', () => {
    const [frame] = buildMbusFrames(apdu.subarray(0, 50));
    const damaged = Buffer.from(frame!);
    damaged[20]! ^= 0x04;
    expect(readMbusFrame(damaged, 0, true)).toMatchObject({ kind: 'invalid', counted: true });
    expect(readMbusFrame(Buffer.from('68656c6c6f', 'hex'), 0, true)).toMatchObject({ kind: 'invalid', counted: false });
  });

  it('drop segments that arrive out of order', () => {
    const frames = buildMbusFrames(apdu);
    expect(readAll([frames[0]!, frames[2]!])).toEqual([null, null]);
  });

  it('wait for the rest of a frame a chunk cut', () => {
    const [frame] = buildMbusFrames(apdu.subarray(0, 50));
    for (let cut = 1; cut < frame!.length; cut++) expect(readMbusFrame(frame!.subarray(0, cut), 0, false).kind).toBe('need-more');
  });
});
