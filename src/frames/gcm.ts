import { createCipheriv, createDecipheriv } from 'node:crypto';
import { P1Error } from '../errors.js';
import { readLength } from './dlms/axdr.js';
import { APDU } from './dlms/apdu.js';

/**
 * DLMS general-glo-ciphering (IEC 62056-5-3, security suite 0/1): `DB | 08 system title | length | security
 * control | frame counter (4) | ciphertext | tag (12, when authenticated)`, AES-128-GCM with IV = system title ||
 * frame counter and AAD = security control || authentication key. Encryption without authentication (0x20) is
 * GCM's counter mode alone, which starts at block counter 2.
 */

const SYSTEM_TITLE_BYTES = 8;
const TAG_BYTES = 12;
const KEY_BYTES = 16;
const AUTHENTICATED = 0x10;
const ENCRYPTED = 0x20;
/** Bits p1logger does not handle: broadcast key (0x40), compression (0x80), suites above 1 (AES-256, ECDSA-P384). */
const UNSUPPORTED = 0xc0 | 0x0e;

/** Luxembourg's Smarty meters all use this published authentication key; it is the default. */
export const SMARTY_AUTHENTICATION_KEY = Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex');

export interface DlmsKeys {
  /** The meter's 16-byte encryption key (EK), from its grid operator. */
  decryptionKey: Uint8Array;
  /** The 16-byte authentication key (AK); Smarty's published one when not given. */
  authenticationKey?: Uint8Array;
}

export interface GloCiphered {
  systemTitle: Uint8Array;
  securityControl: number;
  frameCounter: number;
  ciphertext: Uint8Array;
  /** The GCM tag, when the security control says authenticated. */
  tag: Uint8Array | null;
  /** Offset after the ciphered APDU. */
  end: number;
}

/** The parts of a general-glo-ciphering APDU at `at`; null when the bytes are not one (or are cut short). */
export function readGloCiphering(buf: Uint8Array, at = 0): GloCiphered | null {
  if (buf[at] !== APDU.generalGloCiphering || buf[at + 1] !== SYSTEM_TITLE_BYTES) return null;
  const titleEnd = at + 2 + SYSTEM_TITLE_BYTES;
  const length = readLength(buf, titleEnd);
  if (length === null || length.value < 5 || length.end + length.value > buf.length) return null;
  const securityControl = buf[length.end]!;
  if ((securityControl & (AUTHENTICATED | ENCRYPTED)) === 0) return null;
  const end = length.end + length.value;
  const payloadStart = length.end + 5;
  const authenticated = (securityControl & AUTHENTICATED) !== 0;
  if (authenticated && end - payloadStart < TAG_BYTES) return null;
  const payloadEnd = authenticated ? end - TAG_BYTES : end;
  return {
    systemTitle: buf.subarray(at + 2, titleEnd),
    securityControl,
    frameCounter: new DataView(buf.buffer, buf.byteOffset + length.end + 1, 4).getUint32(0),
    ciphertext: buf.subarray(payloadStart, payloadEnd),
    tag: authenticated ? buf.subarray(payloadEnd, end) : null,
    end,
  };
}

function iv(ciphered: GloCiphered): Buffer {
  const out = Buffer.alloc(12);
  out.set(ciphered.systemTitle, 0);
  out.writeUInt32BE(ciphered.frameCounter, SYSTEM_TITLE_BYTES);
  return out;
}

function failed(reason: string): P1Error {
  return new P1Error('P1_DECRYPT_FAILED', reason);
}

/**
 * The plaintext APDU. Throws P1_DECRYPT_FAILED when the tag does not verify (wrong key, forged or damaged
 * frame) or the frame uses a security setting p1logger does not read. The message never holds a key.
 */
export function decryptGlo(ciphered: GloCiphered, keys: DlmsKeys): Uint8Array {
  if ((ciphered.securityControl & UNSUPPORTED) !== 0) {
    throw failed(`security control 0x${ciphered.securityControl.toString(16)} (broadcast key, compression or a suite above 1) is not supported`);
  }
  if (keys.decryptionKey.length !== KEY_BYTES) throw failed('the decryption key must be 16 bytes (32 hex digits)');
  const authenticationKey = keys.authenticationKey ?? SMARTY_AUTHENTICATION_KEY;
  const encrypted = (ciphered.securityControl & ENCRYPTED) !== 0;
  if (ciphered.tag === null) {
    // Encryption only: counter mode from block 2, as GCM encrypts; nothing vouches for the result.
    const counter = Buffer.concat([iv(ciphered), Buffer.from([0, 0, 0, 2])]);
    const decipher = createDecipheriv('aes-128-ctr', keys.decryptionKey, counter);
    return Buffer.concat([decipher.update(ciphered.ciphertext), decipher.final()]);
  }
  const control = Buffer.from([ciphered.securityControl]);
  // DLMS authenticates SC || AK; some encoders (test tools, athombv's examples) authenticate nothing extra.
  for (const aad of [Buffer.concat([control, authenticationKey]), Buffer.alloc(0)]) {
    const plaintext = openGcm(ciphered, keys.decryptionKey, encrypted ? aad : Buffer.concat([aad, ciphered.ciphertext]), encrypted);
    if (plaintext !== null) return plaintext;
  }
  throw failed(
    'the frame does not authenticate: check decryptionKey (and authenticationKey, if your grid operator gave one); ' +
      'a frame damaged on the line fails the same way',
  );
}

function openGcm(ciphered: GloCiphered, key: Uint8Array, aad: Uint8Array, encrypted: boolean): Uint8Array | null {
  const decipher = createDecipheriv('aes-128-gcm', key, iv(ciphered), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(ciphered.tag!);
  try {
    const body = encrypted ? decipher.update(ciphered.ciphertext) : Buffer.alloc(0);
    decipher.final();
    return encrypted ? body : ciphered.ciphertext;
  } catch {
    return null;
  }
}

/**
 * A general-glo-ciphering APDU for `plaintext`, as a meter sends it (security control 0x30 by default): for the
 * simulator and tests.
 */
export function encryptGlo(
  plaintext: Uint8Array,
  keys: DlmsKeys,
  systemTitle: Uint8Array,
  frameCounter: number,
  securityControl = AUTHENTICATED | ENCRYPTED,
): Buffer {
  const header: GloCiphered = { systemTitle, securityControl, frameCounter, ciphertext: plaintext, tag: null, end: 0 };
  const authenticated = (securityControl & AUTHENTICATED) !== 0;
  let body: Buffer;
  if (authenticated) {
    const cipher = createCipheriv('aes-128-gcm', keys.decryptionKey, iv(header), { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([Buffer.from([securityControl]), keys.authenticationKey ?? SMARTY_AUTHENTICATION_KEY]));
    body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  } else {
    const cipher = createCipheriv('aes-128-ctr', keys.decryptionKey, Buffer.concat([iv(header), Buffer.from([0, 0, 0, 2])]));
    body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  }
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(frameCounter >>> 0);
  const content = Buffer.concat([Buffer.from([securityControl]), counter, body]);
  return Buffer.concat([Buffer.from([APDU.generalGloCiphering, SYSTEM_TITLE_BYTES]), systemTitle, axdrLength(content.length), content]);
}

function axdrLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
