/**
 * QoS 1 PUBLISH packets written straight into a buffer (MQTT 3.1.1 section 3.3, MQTT 5 section 3.3): what the sink
 * sends per message, without a packet object, a copy of the payload or a write per field. Pure.
 */

/** A topic name as a PUBLISH carries it: a two-byte length, then its UTF-8 bytes. */
export function encodeTopic(topic: string): Buffer {
  const bytes = Buffer.byteLength(topic, 'utf8');
  if (bytes > 0xffff) throw new RangeError(`MQTT topic of ${bytes} bytes: at most 65,535`);
  const out = Buffer.allocUnsafe(2 + bytes);
  out.writeUInt16BE(bytes, 0);
  out.write(topic, 2, 'utf8');
  return out;
}

/** The largest remaining length MQTT can say (four bytes of variable-length integer). */
export const MAX_REMAINING_LENGTH = 268_435_455;

function remainingLength(topic: Buffer, payloadBytes: number, v5: boolean): number {
  // Topic, packet identifier, MQTT 5's property length (0: none), payload.
  return topic.length + 2 + (v5 ? 1 : 0) + payloadBytes;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Bytes of the whole packet. */
export function publishSize(topic: Buffer, payloadBytes: number, v5: boolean): number {
  const rest = remainingLength(topic, payloadBytes, v5);
  return 1 + varintSize(rest) + rest;
}

/**
 * Writes a QoS 1 PUBLISH (DUP 0) into `out` at `at`, which must have publishSize() bytes free, and returns where
 * it ends. `payloadBytes` is Buffer.byteLength(payload): the caller measured it to size the buffer.
 */
export function writePublish(out: Buffer, at: number, message: { topic: Buffer; payload: string; payloadBytes: number; retain: boolean; packetId: number; v5: boolean }): number {
  const rest = remainingLength(message.topic, message.payloadBytes, message.v5);
  if (rest > MAX_REMAINING_LENGTH) throw new RangeError(`MQTT message of ${rest} bytes: at most ${MAX_REMAINING_LENGTH}`);
  let i = at;
  out[i++] = 0x32 | (message.retain ? 1 : 0);
  let n = rest;
  do {
    const digit = n % 0x80;
    n = Math.floor(n / 0x80);
    out[i++] = n > 0 ? digit | 0x80 : digit;
  } while (n > 0);
  i += message.topic.copy(out, i);
  out[i++] = message.packetId >> 8;
  out[i++] = message.packetId & 0xff;
  if (message.v5) out[i++] = 0;
  return i + out.write(message.payload, i, message.payloadBytes, 'utf8');
}
