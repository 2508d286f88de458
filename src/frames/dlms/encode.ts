import { TAG } from './axdr.js';

/**
 * A-XDR encoding of the few Data forms a meter's push list uses: for the simulator and tests, which build frames
 * the way meters do. The inverse of decodeData for these forms.
 */
export type EncodableData =
  | { structure: EncodableData[] }
  | { array: EncodableData[] }
  | { octets: Uint8Array }
  | { visible: string }
  | { uint32: number }
  | { int32: number }
  | { uint16: number }
  | { int16: number }
  | { int8: number }
  | { enum: number };

export function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

export function encodeData(data: EncodableData): Buffer {
  const out: number[] = [];
  write(data, out);
  return Buffer.from(out);
}

function write(data: EncodableData, out: number[]): void {
  if ('structure' in data || 'array' in data) {
    const items = 'structure' in data ? data.structure : data.array;
    out.push('structure' in data ? TAG.structure : TAG.array, ...encodeLength(items.length));
    for (const item of items) write(item, out);
  } else if ('octets' in data) {
    out.push(TAG.octets, ...encodeLength(data.octets.length), ...data.octets);
  } else if ('visible' in data) {
    const bytes = Buffer.from(data.visible, 'latin1');
    out.push(TAG.visible, ...encodeLength(bytes.length), ...bytes);
  } else {
    const [tag, width, signed, value] =
      'uint32' in data ? [TAG.uint32, 4, false, data.uint32]
      : 'int32' in data ? [TAG.int32, 4, true, data.int32]
      : 'uint16' in data ? [TAG.uint16, 2, false, data.uint16]
      : 'int16' in data ? [TAG.int16, 2, true, data.int16]
      : 'int8' in data ? [TAG.int8, 1, true, data.int8]
      : [TAG.enum, 1, false, data.enum];
    const bytes = Buffer.alloc(width);
    if (signed) bytes.writeIntBE(value, 0, width);
    else bytes.writeUIntBE(value, 0, width);
    out.push(tag, ...bytes);
  }
}

/** OBIS `A-B:C.D.E` as the 6-byte octet string (F = 255). */
export function obisOctets(reference: string): Uint8Array {
  const [a, b, c, d, e] = reference.split(/[-:.]/).map(Number);
  return Uint8Array.of(a!, b!, c!, d!, e!, 0xff);
}

/** A data-notification APDU: invoke id, optional 12-byte date-time, body. */
export function dataNotification(invokeId: number, dateTime: Uint8Array | null, body: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0x0f;
  head.writeUInt32BE(invokeId >>> 0, 1);
  const time = dateTime === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([12]), dateTime]);
  return Buffer.concat([head, time, body]);
}
