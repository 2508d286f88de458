import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_FORMAT } from '../../src/queue/record-format.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { makeTelegram } from './helpers.js';

const everyByte = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b)).join('');

describe('record format v2', () => {
  it.each([
    ['a DSMR telegram', makeTelegram(7)],
    ['every byte value, 0x00 to 0xff', everyByte],
    ['an empty frame', ''],
    ['a 16 KiB frame', everyByte.repeat(64)],
  ])('stores %s byte for byte, with its protocol and receive time', (_, raw) => {
    const record: QueueRecord = { seq: 42, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'dsmr', raw };
    const stored = encodeRecord(record);
    expect(stored[0]).toBe(RECORD_FORMAT);
    expect(stored.subarray(stored.length - raw.length)).toEqual(Buffer.from(raw, 'latin1'));
    expect(decodeRecord(stored)).toEqual(record);
  });

  it('adds a few dozen bytes to the frame, not a multiple of it', () => {
    const raw = everyByte.repeat(4);
    expect(encodeRecord({ seq: 1, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'dsmr', raw }).length - raw.length).toBeLessThan(80);
  });

  it('reads the first release format (v1 JSON) as a dsmr record', () => {
    const v1 = Buffer.from(JSON.stringify({ seq: 3, receivedAt: '2024-05-01T10:00:00.000Z', raw: everyByte }), 'utf8');
    expect(decodeRecord(v1)).toEqual({ seq: 3, receivedAt: '2024-05-01T10:00:00.000Z', protocol: 'dsmr', raw: everyByte });
  });

  const good = encodeRecord({ seq: 9, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'dsmr', raw: makeTelegram(9) });
  const flipped = Buffer.from(good);
  flipped[good.length - 20] = flipped[good.length - 20]! ^ 0x01;
  const laterRelease = ((): Buffer => {
    const header = JSON.stringify({ seq: 9, receivedAt: '2025-01-14T08:00:00.000Z', protocol: 'from-the-future' });
    const value = Buffer.concat([Buffer.from([RECORD_FORMAT, 0, 0, 0, 0, 0, header.length]), Buffer.from(header), Buffer.from('x')]);
    value.writeUInt32BE(crc32(value.subarray(5)), 1);
    return value;
  })();
  it.each([
    ['one flipped bit in the frame', flipped, 'checksum'],
    ['a value cut short', good.subarray(0, 4), 'shorter'],
    ['an unknown first byte', Buffer.from([0x09, 1, 2, 3]), 'no record format'],
    ['a v1 value that is not JSON', Buffer.from('{"seq":1,'), 'not JSON'],
    ['a v1 value without raw', Buffer.from('{"seq":1,"receivedAt":"x"}'), 'not { seq'],
    ['a protocol this release does not know', laterRelease, 'unknown to this release'],
    ['no bytes at all', 'a string', 'not bytes'],
  ])('refuses %s with P1_QUEUE_CORRUPT', (_, value, message) => {
    let error: unknown;
    try {
      decodeRecord(value);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'P1_QUEUE_CORRUPT' });
    expect((error as Error).message).toContain(message);
  });
});
