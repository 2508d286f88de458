import { P1Error } from '../errors.js';
import { APDU, decodeDataNotification } from './dlms/apdu.js';
import { GbtReassembler, readGbtBlock } from './dlms/gbt.js';
import { decryptGlo, readGloCiphering, type DlmsKeys } from './gcm.js';

/** What one transport payload (an HDLC information field, an M-Bus APDU, a bare ciphered APDU) turned out to be. */
export type PayloadResult =
  /** A data-notification APDU, decrypted when it came ciphered: what the queue stores for a DLMS meter. */
  | { kind: 'dlms'; apdu: Uint8Array; encrypted: boolean; systemTitle: Uint8Array | null }
  /** A DSMR text telegram that came ciphered (Luxembourg's Smarty): the telegram framer takes it from here. */
  | { kind: 'dsmr'; text: Uint8Array; systemTitle: Uint8Array }
  /** One block of several: nothing yet. */
  | { kind: 'partial' }
  | { kind: 'rejected'; code: 'P1_DECRYPT_FAILED' | 'P1_KEY_REQUIRED' | 'P1_TELEGRAM_INVALID'; reason: string; systemTitle?: Uint8Array };

const SLASH = 0x2f;

/**
 * Turns transport payloads into APDUs: joins general-block-transfer blocks, decrypts general-glo-ciphering with
 * the meter's keys, checks that a data-notification decodes. Pure apart from the blocks it holds between calls.
 */
export class PayloadUnwrapper {
  private readonly blocks = new GbtReassembler();

  constructor(private readonly keys: DlmsKeys | undefined) {}

  unwrap(payload: Uint8Array): PayloadResult {
    return this.open(payload, false, null, false);
  }

  /** `unvouched`: decrypted without a tag, so only an APDU that decodes exactly to its last byte is believed. */
  private open(payload: Uint8Array, encrypted: boolean, systemTitle: Uint8Array | null, unvouched: boolean): PayloadResult {
    switch (payload[0]) {
      case APDU.dataNotification: {
        const notification = decodeDataNotification(payload);
        if (notification === null || (unvouched && !notification.exact)) return invalid(encrypted, 'data-notification does not decode', systemTitle);
        return { kind: 'dlms', apdu: payload, encrypted, systemTitle };
      }
      case APDU.generalBlockTransfer: {
        const block = readGbtBlock(payload);
        if (block === null) return invalid(encrypted, 'malformed general block transfer', systemTitle);
        const whole = this.blocks.push(block);
        return whole === null ? { kind: 'partial' } : this.open(whole, encrypted, systemTitle, unvouched);
      }
      case APDU.generalGloCiphering:
        return encrypted ? invalid(true, 'ciphered twice', systemTitle) : this.decrypt(payload);
      case SLASH:
        if (encrypted && systemTitle !== null) return { kind: 'dsmr', text: payload, systemTitle };
        return invalid(false, 'DSMR text inside a binary frame', systemTitle);
      default:
        return invalid(encrypted, `APDU 0x${(payload[0] ?? 0).toString(16).padStart(2, '0')} is not one a meter pushes`, systemTitle);
    }
  }

  private decrypt(payload: Uint8Array): PayloadResult {
    const ciphered = readGloCiphering(payload);
    if (ciphered === null) return { kind: 'rejected', code: 'P1_TELEGRAM_INVALID', reason: 'malformed general-glo-ciphering APDU' };
    const systemTitle = ciphered.systemTitle;
    if (this.keys === undefined) {
      return {
        kind: 'rejected',
        code: 'P1_KEY_REQUIRED',
        reason: `the meter (system title ${titleText(systemTitle)}) encrypts its data: set decryptionKey (P1LOGGER_DECRYPTION_KEY), the key your grid operator gives`,
        systemTitle,
      };
    }
    let plaintext: Uint8Array;
    try {
      plaintext = decryptGlo(ciphered, this.keys);
    } catch (error) {
      if (error instanceof P1Error) return { kind: 'rejected', code: 'P1_DECRYPT_FAILED', reason: error.message, systemTitle };
      throw error;
    }
    return this.open(plaintext, true, systemTitle, ciphered.tag === null);
  }
}

function invalid(encrypted: boolean, reason: string, systemTitle: Uint8Array | null): PayloadResult {
  // Decrypted bytes that are no APDU mean the key is wrong (a frame without a tag has nothing else to tell).
  if (encrypted) {
    return {
      kind: 'rejected',
      code: 'P1_DECRYPT_FAILED',
      reason: `decrypted bytes are not a DLMS APDU (${reason}): check decryptionKey`,
      ...(systemTitle === null ? {} : { systemTitle }),
    };
  }
  return { kind: 'rejected', code: 'P1_TELEGRAM_INVALID', reason, ...(systemTitle === null ? {} : { systemTitle }) };
}

/** A system title as meters print it: the maker's three letters, then the rest in hex. */
export function titleText(systemTitle: Uint8Array): string {
  const hex = Buffer.from(systemTitle).toString('hex').toUpperCase();
  const maker = Buffer.from(systemTitle.subarray(0, 3)).toString('latin1');
  return /^[A-Z]{3}$/.test(maker) ? `${maker} ${hex}` : hex;
}
