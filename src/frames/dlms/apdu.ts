import { decodeData, type DlmsData } from './axdr.js';
import { DATE_TIME_BYTES } from './date-time.js';

/** The first byte of the APDUs a meter pushes (IEC 62056-5-3). */
export const APDU = {
  dataNotification: 0x0f,
  generalGloCiphering: 0xdb,
  generalBlockTransfer: 0xe0,
} as const;

/** A data-notification: what every HAN port pushes, one list of values per notification. */
export interface DataNotification {
  invokeId: number;
  /** The notification's own date-time octet string (12 bytes), when the meter sends one. */
  dateTime: Uint8Array | null;
  body: DlmsData;
  /** The body ends at the APDU's last byte, every list whole: nothing cut, nothing left over. */
  exact: boolean;
}

/**
 * Decodes a data-notification APDU; null when the bytes are not one. The date-time is an optional octet string:
 * absent (0x00), its length alone (0x0C, the A-XDR form) or, as Kaifa sends it, tagged (0x09 0x0C).
 */
export function decodeDataNotification(apdu: Uint8Array): DataNotification | null {
  if (apdu.length < 7 || apdu[0] !== APDU.dataNotification) return null;
  const invokeId = ((apdu[1]! << 24) | (apdu[2]! << 16) | (apdu[3]! << 8) | apdu[4]!) >>> 0;
  let pos = 5;
  let dateTime: Uint8Array | null = null;
  const marker = apdu[pos]!;
  if (marker === 0x00) {
    pos += 1;
  } else {
    if (marker === 0x09) pos += 1;
    if (apdu[pos] !== DATE_TIME_BYTES || pos + 1 + DATE_TIME_BYTES > apdu.length) return null;
    dateTime = apdu.subarray(pos + 1, pos + 1 + DATE_TIME_BYTES);
    pos += 1 + DATE_TIME_BYTES;
  }
  const body = decodeData(apdu, pos);
  if (body === null) return null;
  const whole = !('truncated' in body.value);
  return { invokeId, dateTime, body: body.value, exact: whole && body.end === apdu.length };
}
