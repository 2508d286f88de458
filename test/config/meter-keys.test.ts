import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type LoadConfigOptions } from '../../src/config.js';
import { dlmsKeys, meterKeysFromEnv } from '../../src/config/meter-keys.js';
import { effectiveConfigYaml } from '../../src/config/print.js';
import { isP1Error } from '../../src/errors.js';
import { writeFileWithMode } from '../support/files.js';

const KEY = '36c66639e48a8ca4d6bc8b282a793bbb';
const AUTH = 'c0c1c2c3c4c5c6c7c8c9cacbcccdcecf';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string, text: string, mode: number): Promise<string> {
  return writeFileWithMode(dir, name, text, mode);
}

const load = (options: LoadConfigOptions) => loadConfig({ defaultConfigPath: join(dir, 'none.yaml'), cwd: dir, env: {}, ...options });

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof Error)) throw new Error('expected a failure');
  return error;
}

describe('the meter keys', () => {
  it('come from P1LOGGER_DECRYPTION_KEY / _AUTHENTICATION_KEY, or files their _FILE forms name', async () => {
    const keyFile = await file('ek', `${KEY}\n`, 0o600);
    const { config } = await load({ env: { P1LOGGER_DECRYPTION_KEY_FILE: keyFile, P1LOGGER_AUTHENTICATION_KEY: AUTH } });
    expect(dlmsKeys(config.decryptionKey, config.authenticationKey)).toEqual({ decryptionKey: Buffer.from(KEY, 'hex'), authenticationKey: Buffer.from(AUTH, 'hex') });
    expect(await meterKeysFromEnv({ P1LOGGER_DECRYPTION_KEY: KEY.toUpperCase() }, dir)).toEqual({ decryptionKey: Buffer.from(KEY, 'hex') });
    expect(await meterKeysFromEnv({}, dir)).toBeUndefined();
  });

  it('from the config file, like the sinks\' credentials', async () => {
    const path = await file('c.yaml', 'decryptionKey: { env: MY_KEY }\n', 0o644);
    const { config, parsed } = await load({ flags: { config: path }, env: { MY_KEY: KEY } });
    expect(config.decryptionKey?.reveal()).toBe(KEY);
    expect(effectiveConfigYaml(parsed)).toContain('decryptionKey: "***" # from env MY_KEY');
    // Inline only in a file others cannot read.
    const open = await file('open.yaml', `decryptionKey: ${KEY}\n`, 0o644);
    expect(await failure(load({ flags: { config: open } }))).toMatchObject({ code: 'P1_SECRET_FILE_MODE' });
  });

  it('are never shown: not when printed, logged, or refused', async () => {
    const { config, parsed } = await load({ env: { P1LOGGER_DECRYPTION_KEY: KEY } });
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(inspect(config, { depth: 10 })).not.toContain(KEY);
    expect(effectiveConfigYaml(parsed)).not.toContain(KEY);
    const wrong = `${KEY}zz`;
    const error = await failure(load({ env: { P1LOGGER_DECRYPTION_KEY: wrong } }));
    expect(isP1Error(error, 'P1_CONFIG_INVALID')).toBe(true);
    expect(error.message).toMatch(/decryptionKey .* is not 32 hex digits/);
    expect(error.message).not.toContain(KEY);
    const fromEnv = await failure(meterKeysFromEnv({ P1LOGGER_DECRYPTION_KEY: wrong }, dir));
    expect(fromEnv.message).toMatch(/env P1LOGGER_DECRYPTION_KEY\) is not 32 hex digits/);
    expect(fromEnv.message).not.toContain(KEY);
  });

  it('a key file others can read is refused', async () => {
    const keyFile = await file('ek', KEY, 0o644);
    expect(await failure(meterKeysFromEnv({ P1LOGGER_DECRYPTION_KEY_FILE: keyFile }, dir))).toMatchObject({ code: 'P1_SECRET_FILE_MODE' });
  });
});
