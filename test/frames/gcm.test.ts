import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dataNotification, encodeData } from '../../src/frames/dlms/encode.js';
import { decryptGlo, encryptGlo, readGloCiphering, SMARTY_AUTHENTICATION_KEY, type DlmsKeys } from '../../src/frames/gcm.js';
import { PayloadUnwrapper } from '../../src/frames/payload.js';

const key = fc.uint8Array({ minLength: 16, maxLength: 16 });
const title = fc.uint8Array({ minLength: 8, maxLength: 8 });
const counter = fc.integer({ min: 0, max: 0xffffffff });
/** A data-notification as a meter pushes it: a list of numbers. */
const notification = fc
  .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 30 })
  .map((values) => dataNotification(0x40000000, null, encodeData({ structure: values.map((n) => ({ uint32: n })) })));

describe('general-glo-ciphering', () => {
  it('decrypts what it encrypts, with or without a tag', () => {
    fc.assert(
      fc.property(notification, key, key, title, counter, fc.constantFrom(0x30, 0x20), (apdu, ek, ak, systemTitle, frameCounter, control) => {
        const keys: DlmsKeys = { decryptionKey: ek, authenticationKey: ak };
        const ciphered = encryptGlo(apdu, keys, systemTitle, frameCounter, control);
        const result = new PayloadUnwrapper(keys).unwrap(ciphered);
        expect(result.kind).toBe('dlms');
        if (result.kind === 'dlms') expect(Buffer.from(result.apdu)).toEqual(apdu);
      }),
    );
  });

  it('refuses a frame with any one bit changed (P1_DECRYPT_FAILED from the security control byte on)', () => {
    fc.assert(
      fc.property(notification, key, title, counter, fc.nat(), fc.integer({ min: 0, max: 7 }), (apdu, ek, systemTitle, frameCounter, at, bit) => {
        const keys: DlmsKeys = { decryptionKey: ek };
        const ciphered = encryptGlo(apdu, keys, systemTitle, frameCounter);
        const index = at % ciphered.length;
        const damaged = Buffer.from(ciphered);
        damaged[index]! ^= 1 << bit;
        const result = new PayloadUnwrapper(keys).unwrap(damaged);
        expect(result.kind).toBe('rejected');
        const contentBytes = ciphered.length - 10 - (ciphered[10]! < 0x80 ? 1 : ciphered[10]! - 0x80 + 1);
        const securityControlAt = ciphered.length - contentBytes;
        if (result.kind === 'rejected' && index >= securityControlAt) expect(result.code).toBe('P1_DECRYPT_FAILED');
        if (result.kind === 'rejected' && index >= 2 && index < 10) expect(result.code).toBe('P1_DECRYPT_FAILED');
      }),
    );
  });

  it('says which key to check, and never shows one', () => {
    const ek = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const wrong = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');
    const apdu = dataNotification(1, null, encodeData({ structure: [{ uint32: 5 }] }));
    const ciphered = encryptGlo(apdu, { decryptionKey: ek }, Buffer.from('SAGxxxxx', 'latin1'), 7);
    expect(() => decryptGlo(readGloCiphering(ciphered)!, { decryptionKey: wrong })).toThrow(/check decryptionKey/);
    const result = new PayloadUnwrapper({ decryptionKey: wrong }).unwrap(ciphered);
    expect(result).toMatchObject({ kind: 'rejected', code: 'P1_DECRYPT_FAILED' });
    for (const secret of [ek, wrong, SMARTY_AUTHENTICATION_KEY]) expect(JSON.stringify(result).toLowerCase()).not.toContain(secret.toString('hex'));
    expect(new PayloadUnwrapper(undefined).unwrap(ciphered)).toMatchObject({
      kind: 'rejected',
      code: 'P1_KEY_REQUIRED',
      reason: expect.stringMatching(/system title SAG .*set decryptionKey/) as unknown,
    });
  });

  it('uses Smarty\'s published authentication key when none is given', () => {
    const ek = Buffer.alloc(16, 7);
    const apdu = dataNotification(1, null, encodeData({ structure: [{ uint32: 5 }] }));
    const ciphered = encryptGlo(apdu, { decryptionKey: ek, authenticationKey: SMARTY_AUTHENTICATION_KEY }, Buffer.alloc(8, 1), 1);
    expect(new PayloadUnwrapper({ decryptionKey: ek }).unwrap(ciphered).kind).toBe('dlms');
    expect(new PayloadUnwrapper({ decryptionKey: ek, authenticationKey: Buffer.alloc(16, 9) }).unwrap(ciphered).kind).toBe('rejected');
  });
});
