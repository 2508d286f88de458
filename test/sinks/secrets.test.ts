import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { isP1Error } from '../../src/errors.js';
import { resolveSinkSecrets } from '../../src/sinks/secrets.js';
import { parseSinkSpec } from '../../src/sinks/spec.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const v2 = parseSinkSpec('influxdb:http://127.0.0.1:8086?org=o&bucket=b');
const v1 = parseSinkSpec('influxdb-v1:http://127.0.0.1:8086?db=d');
const cosm = parseSinkSpec('cosm:http://127.0.0.1:9/v2/feeds/1');

describe('resolveSinkSecrets', () => {
  it('takes INFLUX_TOKEN, INFLUX_USERNAME/INFLUX_PASSWORD and COSM_API_KEY from the environment', async () => {
    const env = { INFLUX_TOKEN: 'tok', INFLUX_USERNAME: 'me', INFLUX_PASSWORD: 'pw', COSM_API_KEY: 'key' };
    expect(await resolveSinkSecrets(v2, {}, { env })).toEqual({ token: 'tok' });
    expect(await resolveSinkSecrets(v1, {}, { env })).toEqual({ username: 'me', password: 'pw' });
    expect(await resolveSinkSecrets(cosm, {}, { env })).toEqual({ token: 'key' });
    expect(await resolveSinkSecrets(v2, {}, { env: {} })).toEqual({});
  });

  it('prefers what the configuration file gave', async () => {
    const env = { INFLUX_TOKEN: 'from-env' };
    expect(await resolveSinkSecrets(v2, { token: new Secret('from-config', 'config file') }, { env })).toEqual({ token: 'from-config' });
  });

  it('reads NAME_FILE when only the owner can read it', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'file-token\n');
    await chmod(file, 0o600);
    expect(await resolveSinkSecrets(v2, {}, { env: { INFLUX_TOKEN_FILE: file } })).toEqual({ token: 'file-token' });
  });

  it('refuses a secret file readable by group or others, without showing its content', async () => {
    const file = join(dir, 'open-key');
    await writeFile(file, 'do-not-show');
    await chmod(file, 0o644);
    const error = await resolveSinkSecrets(cosm, {}, { env: { COSM_API_KEY_FILE: file } }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_SECRET_FILE_MODE')).toBe(true);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain('do-not-show');
  });

  it('a Cosm feed without a key is a configuration error naming COSM_API_KEY', async () => {
    const error = await resolveSinkSecrets(cosm, {}, { env: {} }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/COSM_API_KEY/);
  });
});
