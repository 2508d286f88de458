/**
 * A-XDR decoding of DLMS/COSEM `Data` (IEC 62056-6-2): a tag byte, then the value. Lengths are A-XDR lengths
 * (one byte below 0x80, else 0x8N and N bytes). Meters cut some lists short (the structure announces more
 * elements than follow): such a list decodes with the elements that are there and `truncated` set.
 */

export type DlmsData =
  | { type: 'null' }
  | { type: 'array' | 'structure'; items: DlmsData[]; declared: number; truncated?: true }
  | { type: 'boolean'; value: boolean }
  | { type: 'bit-string'; bits: number; bytes: Uint8Array }
  | { type: 'number'; tag: number; value: number }
  | { type: 'enum'; value: number }
  | { type: 'octets'; bytes: Uint8Array }
  | { type: 'string'; value: string }
  | { type: 'date-time' | 'date' | 'time'; bytes: Uint8Array };

export const TAG = {
  null: 0,
  array: 1,
  structure: 2,
  boolean: 3,
  bitString: 4,
  int32: 5,
  uint32: 6,
  octets: 9,
  visible: 10,
  utf8: 12,
  bcd: 13,
  int8: 15,
  int16: 16,
  uint8: 17,
  uint16: 18,
  int64: 20,
  uint64: 21,
  enum: 22,
  float32: 23,
  float64: 24,
  dateTime: 25,
  date: 26,
  time: 27,
} as const;

/** Nesting deeper than any meter's list: beyond it the bytes are not a list. */
const MAX_DEPTH = 8;

export interface Decoded<T> {
  value: T;
  end: number;
}

/** Reads an A-XDR length at `at`; null when the bytes end first or the length is absurd. */
export function readLength(buf: Uint8Array, at: number): Decoded<number> | null {
  if (at >= buf.length) return null;
  const first = buf[at]!;
  if (first < 0x80) return { value: first, end: at + 1 };
  const count = first & 0x7f;
  if (count === 0 || count > 3 || at + 1 + count > buf.length) return null;
  let value = 0;
  for (let i = 1; i <= count; i++) value = value * 256 + buf[at + i]!;
  return { value, end: at + 1 + count };
}

/**
 * Decodes one Data element at `at`. null when the bytes are not Data (unknown tag, cut inside a scalar); a
 * structure or array cut between its elements is returned `truncated`, with the elements read so far.
 */
export function decodeData(buf: Uint8Array, at: number, depth = 0): Decoded<DlmsData> | null {
  if (at >= buf.length || depth > MAX_DEPTH) return null;
  const tag = buf[at]!;
  const p = at + 1;
  switch (tag) {
    case TAG.null:
      return { value: { type: 'null' }, end: p };
    case TAG.array:
    case TAG.structure: {
      const length = readLength(buf, p);
      if (length === null) return null;
      // Every element takes at least one byte: a count beyond the bytes left is not a list.
      if (length.value > buf.length - length.end) return null;
      const items: DlmsData[] = [];
      let pos = length.end;
      while (items.length < length.value) {
        const item = decodeData(buf, pos, depth + 1);
        if (item === null) {
          return { value: { type: tag === TAG.array ? 'array' : 'structure', items, declared: length.value, truncated: true }, end: buf.length };
        }
        items.push(item.value);
        pos = item.end;
        if ('truncated' in item.value) {
          return { value: { type: tag === TAG.array ? 'array' : 'structure', items, declared: length.value, truncated: true }, end: buf.length };
        }
      }
      return { value: { type: tag === TAG.array ? 'array' : 'structure', items, declared: length.value }, end: pos };
    }
    case TAG.boolean:
      return p < buf.length ? { value: { type: 'boolean', value: buf[p] !== 0 }, end: p + 1 } : null;
    case TAG.bitString: {
      const length = readLength(buf, p);
      if (length === null) return null;
      const bytes = Math.ceil(length.value / 8);
      if (length.end + bytes > buf.length) return null;
      return { value: { type: 'bit-string', bits: length.value, bytes: buf.subarray(length.end, length.end + bytes) }, end: length.end + bytes };
    }
    case TAG.octets:
    case TAG.visible:
    case TAG.utf8: {
      const length = readLength(buf, p);
      if (length === null || length.end + length.value > buf.length) return null;
      const bytes = buf.subarray(length.end, length.end + length.value);
      const end = length.end + length.value;
      if (tag === TAG.octets) return { value: { type: 'octets', bytes }, end };
      return { value: { type: 'string', value: Buffer.from(bytes).toString(tag === TAG.utf8 ? 'utf8' : 'latin1') }, end };
    }
    case TAG.enum:
      return p < buf.length ? { value: { type: 'enum', value: buf[p]! }, end: p + 1 } : null;
    case TAG.dateTime:
      return fixed(buf, p, 12, 'date-time');
    case TAG.date:
      return fixed(buf, p, 5, 'date');
    case TAG.time:
      return fixed(buf, p, 4, 'time');
    default: {
      const width = NUMBER_WIDTH[tag];
      if (width === undefined || p + width > buf.length) return null;
      return { value: { type: 'number', tag, value: readNumber(buf, p, tag) }, end: p + width };
    }
  }
}

function fixed(buf: Uint8Array, at: number, width: number, type: 'date-time' | 'date' | 'time'): Decoded<DlmsData> | null {
  if (at + width > buf.length) return null;
  return { value: { type, bytes: buf.subarray(at, at + width) }, end: at + width };
}

const NUMBER_WIDTH: Partial<Record<number, number>> = {
  [TAG.int32]: 4,
  [TAG.uint32]: 4,
  [TAG.bcd]: 1,
  [TAG.int8]: 1,
  [TAG.int16]: 2,
  [TAG.uint8]: 1,
  [TAG.uint16]: 2,
  [TAG.int64]: 8,
  [TAG.uint64]: 8,
  [TAG.float32]: 4,
  [TAG.float64]: 8,
};

function readNumber(buf: Uint8Array, at: number, tag: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset + at);
  switch (tag) {
    case TAG.int32:
      return view.getInt32(0);
    case TAG.uint32:
      return view.getUint32(0);
    case TAG.int8:
      return view.getInt8(0);
    case TAG.int16:
      return view.getInt16(0);
    case TAG.uint8:
      return view.getUint8(0);
    case TAG.uint16:
      return view.getUint16(0);
    case TAG.int64:
      return Number(view.getBigInt64(0));
    case TAG.uint64:
      return Number(view.getBigUint64(0));
    case TAG.float32:
      return view.getFloat32(0);
    case TAG.float64:
      return view.getFloat64(0);
    default: {
      // bcd: two decimal digits in one byte
      const b = view.getUint8(0);
      return (b >> 4) * 10 + (b & 0x0f);
    }
  }
}
