import { describe, expect, it } from 'vitest';
import { crc16, crc16OfText, formatCrc } from '../../src/telegram/crc16.js';
import { fixtureBytes } from '../support/fixtures.js';

describe('CRC-16/ARC', () => {
  it('matches the standard check value for "123456789"', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0xbb3d);
    expect(crc16OfText('123456789')).toBe(0xbb3d);
  });

  it.each([
    ['V5.txt', '6EEE'],
    ['V4_2.txt', '6796'],
    ['UNPADDED_CRC.txt', '0B9F'],
  ])('over "/" through "!" of %s gives the CRC the meter sent (%s)', (file, sent) => {
    const bytes = fixtureBytes(file);
    const bang = bytes.indexOf('\r\n!') + 2;
    expect(formatCrc(crc16(bytes, 0, bang + 1))).toBe(sent);
  });
});

describe('crc16 over bytes and over text agree for every length and offset', () => {
  it('matches the bytewise definition', () => {
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc16(bytes, start, end)).toBe(crc16OfText(bytes.toString('latin1'), start, end));
      }
    }
  });
});
