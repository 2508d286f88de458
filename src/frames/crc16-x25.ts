/**
 * CRC-16/X.25 (HDLC's HCS and FCS, IEC 62056-46): polynomial 0x1021 reflected (0x8408), initial value 0xFFFF,
 * final xor 0xFFFF; sent low byte first.
 */

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
    table[n] = crc;
  }
  return table;
}

/** CRC over bytes[start, end). */
export function crc16x25(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc ^ 0xffff;
}

/** Whether the two bytes at `at` (low byte first) are the CRC of bytes[start, at). */
export function checkX25(bytes: Uint8Array, start: number, at: number): boolean {
  return crc16x25(bytes, start, at) === (bytes[at]! | (bytes[at + 1]! << 8));
}
