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
