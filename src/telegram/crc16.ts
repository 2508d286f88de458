/** CRC-16/ARC (DSMR 4/5): polynomial 0x8005 reflected (0xA001), initial value 0, no final xor. */

/** TABLES[k][b]: the CRC contribution of byte b followed by k zero bytes ("slicing by 8", 8 bytes per step). */
const TABLES = buildTables();
const T0 = TABLES[0]!;

function buildTables(): Uint16Array[] {
  const t0 = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    t0[n] = crc;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1]!;
    const table = new Uint16Array(256);
    for (let n = 0; n < 256; n++) table[n] = (previous[n]! >>> 8) ^ t0[previous[n]! & 0xff]!;
    tables.push(table);
  }
  return tables;
}

const [, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint16Array, Uint16Array, Uint16Array, Uint16Array, Uint16Array, Uint16Array, Uint16Array, Uint16Array];

/** CRC over bytes[start, end). */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    crc ^= bytes[i]! | (bytes[i + 1]! << 8);
    crc =
      T7[crc & 0xff]! ^
      T6[crc >>> 8]! ^
      T5[bytes[i + 2]!]! ^
      T4[bytes[i + 3]!]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ T0[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** CRC over a latin1 string (one char per byte), as telegrams are kept. */
export function crc16OfText(text: string, start = 0, end = text.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ T0[(crc ^ text.charCodeAt(i)) & 0xff]!;
  return crc;
}

/** The CRC as a meter writes it: four upper-case hex digits. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
