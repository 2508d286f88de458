import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, effectiveConfigYaml, loadConfig, type LoadConfigOptions } from '../../src/config.js';
import { isP1Error } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { writeFileWithMode } from '../support/files.js';

const SECRET = 'tok-5f1e0c9a-do-not-print';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1sec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string, text: string, mode: number): Promise<string> {
  return writeFileWithMode(dir, name, text, mode);
}

function sinkYaml(token: string): string {
  return `sinks:\n  - name: influx\n    url: influxdb:http://127.0.0.1:8086?org=home&bucket=p1\n    token: ${token}\n`;
}

function load(options: LoadConfigOptions) {
  return loadConfig({ env: {}, defaultConfigPath: '/nonexistent', cwd: dir, ...options });
}

async function failure(options: LoadConfigOptions): Promise<Error & { code: string }> {
  const error: unknown = await load(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isP1Error(error)).toBe(true);
  const e = error as Error & { code: string };
  expect(e.message).not.toContain(SECRET);
  return e;
}

describe('secrets come from the environment or a file only its owner can read', () => {
  it('{ env: NAME } reads the variable', async () => {
    const path = await file('c.yaml', sinkYaml('{ env: INFLUX_TOKEN }'), 0o640);
    const { config } = await load({ flags: { config: path }, env: { INFLUX_TOKEN: SECRET } });
    expect(config.sinks[0]!.token!.reveal()).toBe(SECRET);
    expect(config.sinks[0]!.token!.origin).toBe('env INFLUX_TOKEN');
  });

  it('an unset variable is an error naming the key and the variable', async () => {
    const path = await file('c.yaml', sinkYaml('{ env: INFLUX_TOKEN }'), 0o640);
    const error = await failure({ flags: { config: path } });
    expect(error.code).toBe('P1_CONFIG_INVALID');
    expect(error.message).toContain('sinks[0].token');
    expect(error.message).toContain('INFLUX_TOKEN is not set');
  });

  it('{ file: PATH } reads a 0600 file, without its trailing newline; relative paths are from the working directory', async () => {
    await file('influx.token', `${SECRET}\n`, 0o600);
    const path = await file('c.yaml', sinkYaml('{ file: influx.token }'), 0o640);
    const { config } = await load({ flags: { config: path } });
    expect(config.sinks[0]!.token!.reveal()).toBe(SECRET);
  });

  it.each([0o640, 0o604, 0o644, 0o660])('refuses a secret file with mode %o (P1_SECRET_FILE_MODE naming the file)', async (mode) => {
    const tokenPath = await file('influx.token', SECRET, mode);
    const path = await file('c.yaml', sinkYaml(`{ file: ${tokenPath} }`), 0o640);
    const error = await failure({ flags: { config: path } });
    expect(error.code).toBe('P1_SECRET_FILE_MODE');
    expect(error.message).toContain(tokenPath);
    expect(error.message).toContain('sinks[0].token');
    expect(error.message).toContain(`chmod 600 ${tokenPath}`);
  });

  it('a missing secret file is P1_FILE_NOT_FOUND naming it', async () => {
    const path = await file('c.yaml', sinkYaml(`{ file: ${join(dir, 'absent.token')} }`), 0o640);
    const error = await failure({ flags: { config: path } });
    expect(error.code).toBe('P1_FILE_NOT_FOUND');
    expect(error.message).toContain(join(dir, 'absent.token'));
  });

  it('an inline secret is accepted only in a config file others cannot read', async () => {
    const open = await file('open.yaml', sinkYaml(SECRET), 0o644);
    const error = await failure({ flags: { config: open } });
    expect(error.code).toBe('P1_SECRET_FILE_MODE');
    expect(error.message).toContain(open);
    const closed = await file('closed.yaml', sinkYaml(SECRET), 0o640);
    const { config } = await load({ flags: { config: closed } });
    expect(config.sinks[0]!.token!.reveal()).toBe(SECRET);
  });

  it('an invalid secret is reported without its value', async () => {
    const path = await file('c.yaml', sinkYaml(`{ env: INFLUX_TOKEN, value: ${SECRET} }`), 0o600);
    const error = await failure({ flags: { config: path } });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ key: 'sinks[0].token', value: '(secret, not shown)' });
    expect((error as ConfigError).issues[0]!.allowed).toContain('{ env: VARIABLE } or { file: PATH }');
  });

  it('--skip-secrets mode validates references without reading them', async () => {
    const path = await file('c.yaml', sinkYaml('{ env: INFLUX_TOKEN }'), 0o640);
    const { config, parsed } = await load({ flags: { config: path }, resolveSecrets: false });
    expect(config.sinks[0]!.token).toBeUndefined();
    expect(parsed.sinks[0]!.token).toEqual({ env: 'INFLUX_TOKEN' });
  });
});

describe('secrets are never printed', () => {
  async function loaded() {
    const path = await file('c.yaml', sinkYaml('{ env: INFLUX_TOKEN }') + '    password: { env: INFLUX_PASSWORD }\n', 0o640);
    return load({ flags: { config: path }, env: { INFLUX_TOKEN: SECRET, INFLUX_PASSWORD: `${SECRET}-pw` } });
  }

  it('JSON, string conversion and util.inspect show *** only', async () => {
    const { config } = await loaded();
    expect(JSON.stringify(config)).toContain('"token":"***"');
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(inspect(config, { depth: 10 })).not.toContain(SECRET);
    expect(String(config.sinks[0]!.token!)).toBe('***');
    expect(`token=${config.sinks[0]!.token!.toString()}`).toBe('token=***');
  });

  it('logging the whole config through pino leaks nothing', async () => {
    const { config } = await loaded();
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    createLogger({ level: 'info', destination: sink }).info({ config }, 'effective configuration');
    expect(out).toContain('"token":"***"');
    expect(out).not.toContain(SECRET);
  });

  it('the effective YAML masks each secret and says where it comes from', async () => {
    const { parsed } = await loaded();
    const yaml = effectiveConfigYaml(parsed);
    expect(yaml).toContain('token: "***" # from env INFLUX_TOKEN');
    expect(yaml).toContain('password: "***" # from env INFLUX_PASSWORD');
    expect(yaml).not.toContain(SECRET);
  });
});
