import { P1Error } from '../errors.js';
import type { DlmsKeys } from '../frames/gcm.js';
import { secretFromEnv } from './resolve-secret.js';
import { Secret } from './secret.js';

/** The environment variables of the meter's keys (each also as NAME_FILE), for commands that read no config file. */
export const METER_KEY_ENV = { decryptionKey: 'P1LOGGER_DECRYPTION_KEY', authenticationKey: 'P1LOGGER_AUTHENTICATION_KEY' } as const;

const HEX_KEY = /^[0-9A-Fa-f]{32}$/;

/** A meter key is 32 hex digits (spaces allowed, as operators print them); the message never shows the value. */
export function assertMeterKey(key: string, secret: Secret): void {
  if (!HEX_KEY.test(secret.reveal().replace(/\s/g, ''))) {
    throw new P1Error('P1_CONFIG_INVALID', `${key} (${secret.origin}) is not 32 hex digits (the key's 16 bytes); the value is not shown`);
  }
}

/** The keys as the decryptor takes them; undefined without a decryption key. */
export function dlmsKeys(decryptionKey: Secret | undefined, authenticationKey: Secret | undefined): DlmsKeys | undefined {
  if (decryptionKey === undefined) return undefined;
  const bytes = (secret: Secret): Buffer => Buffer.from(secret.reveal().replace(/\s/g, ''), 'hex');
  return authenticationKey === undefined ? { decryptionKey: bytes(decryptionKey) } : { decryptionKey: bytes(decryptionKey), authenticationKey: bytes(authenticationKey) };
}

/**
 * The meter's keys from P1LOGGER_DECRYPTION_KEY / P1LOGGER_AUTHENTICATION_KEY (or their _FILE forms): what `parse`,
 * `read`, `detect` and `import` use, which read no config file.
 */
export async function meterKeysFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<DlmsKeys | undefined> {
  const secrets: Partial<Record<keyof typeof METER_KEY_ENV, Secret>> = {};
  for (const [key, name] of Object.entries(METER_KEY_ENV) as Array<[keyof typeof METER_KEY_ENV, string]>) {
    const value = await secretFromEnv(name, { env, cwd });
    if (value === undefined) continue;
    const secret = new Secret(value, env[name] ? `env ${name}` : `file named by ${name}_FILE`);
    assertMeterKey(key, secret);
    secrets[key] = secret;
  }
  return dlmsKeys(secrets.decryptionKey, secrets.authenticationKey);
}
