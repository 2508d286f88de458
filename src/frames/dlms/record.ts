import type { ParseOptions } from '../../telegram/types.js';
import { decodeDataNotification } from './apdu.js';
import { readNotification, type DlmsReading } from './reading.js';

/** A stored DLMS record (the data-notification APDU, latin1) -> its reading; null when the bytes do not decode. */
export function readDlmsRecord(raw: string, options: ParseOptions = {}): DlmsReading | null {
  const notification = decodeDataNotification(Buffer.from(raw, 'latin1'));
  return notification === null ? null : readNotification(notification, options);
}
