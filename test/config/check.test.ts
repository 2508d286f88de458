import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../../src/config.js';
import { runCommand } from '../../src/commands/run.js';
import { parseSourceSpec } from '../../src/sources/spec.js';
import { runCli } from '../support/cli.js';
import { writeFileWithMode } from '../support/files.js';
import { envWithout } from '../support/env.js';

/**
 * `config check` validates exactly as `run` does: what one refuses the other refuses, with the same exit status,
 * before `run` touches the meter (under systemd's Restart=always a difference is a restart loop).
 */
let dir: string;
const baseEnv = envWithout('P1LOGGER_', 'INFLUX_', 'COSM_');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string, text: string, mode = 0o600): Promise<string> {
  return writeFileWithMode(dir, name, text, mode);
}

function load(options: LoadConfigOptions) {
  return loadConfig({ env: {}, defaultConfigPath: '/nonexistent/p1logger.yaml', cwd: dir, ...options });
}

async function issuesOf(options: LoadConfigOptions): Promise<ConfigError> {
  const error: unknown = await load(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

/** `run` with a configuration it refuses returns 2 before it opens anything: safe to call in-process. */
async function runExit(flags: Parameters<typeof runCommand>[0], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    return await runCommand({ dataDir: join(dir, 'never-created'), ...flags }, { P1LOGGER_CONFIG: '/nonexistent/p1logger.yaml', ...env });
  } finally {
    process.stderr.write = write;
    expect(err).not.toMatch(/^\s+at /m);
  }
}

describe('source specs are validated by the configuration, as run checks them', () => {
  const refused = [
    ['serial:/dev/ttyUSB0?baud=fast', /baud "fast" is not allowed/],
    ['serial:/dev/ttyUSB0?dsmr=5&foo=1', /unknown parameter "foo"/],
    ['serial:/dev/ttyUSB0?dsmr=6', /dsmr "6" is not allowed/],
    ['simulate?interval=0', /interval "0" is not allowed/],
    ['simulate?dsmr=4', /dsmr "4" is not allowed/],
    ['tcp:meter.local', /expected tcp:HOST:PORT/],
  ] as const;

  it.each(refused)('%s: config check and run both refuse it (exit 2) naming the part', async (source, problem) => {
    const error = await issuesOf({ flags: { source } });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ where: '--source', key: 'source', value: JSON.stringify(source) });
    expect(error.issues[0]!.problem).toMatch(problem);
    expect(await runExit({ source })).toBe(2);
  });

  it.each(['4.0', '4.2', '5.0', '3.0', '4', '5', '2.2', '3'])('dsmr=%s is a version users know, accepted by both', async (dsmr) => {
    const { config } = await load({ flags: { source: `serial:/dev/ttyUSB0?dsmr=${dsmr}` } });
    expect(config.source).toBe(`serial:/dev/ttyUSB0?dsmr=${dsmr}`);
    const spec = parseSourceSpec(config.source);
    expect(spec.kind === 'serial' && spec.settings !== 'auto' && spec.settings.baudRate).toBe(dsmr.startsWith('2') || dsmr.startsWith('3') ? 9600 : 115200);
  });
});

describe('every problem in one pass', () => {
  it('a bad key, a bad sink spec and an inline secret in a file others can read are listed together', async () => {
    const path = await file(
      'many.yaml',
      'queue: { durability: fast }\nsinks:\n  - name: a\n    url: influxdb-v1:http://127.0.0.1:8086?db=p1\n    username: me\n    password: inline-pw-1234\n  - name: b\n    url: influxdb:http://127.0.0.1:8086?org=o\n',
      0o644,
    );
    const error = await issuesOf({ flags: { config: path } });
    expect(error.issues.map((i) => i.key).sort()).toEqual(['queue.durability', 'sinks[0].password', 'sinks[1].url']);
    const secret = error.issues.find((i) => i.key === 'sinks[0].password')!;
    expect(secret).toMatchObject({ where: `${path}:6`, code: 'P1_SECRET_FILE_MODE' });
    expect(error.message).toContain('P1_SECRET_FILE_MODE');
    expect(error.message).not.toContain('inline-pw-1234');
    expect(error.issues.find((i) => i.key === 'sinks[1].url')!.problem).toMatch(/parameter "bucket": missing/);
  });

  it('a sink the environment must complete: a Cosm feed without COSM_API_KEY is found by config check, not first by run', async () => {
    const error = await issuesOf({ flags: { sink: ['feed=cosm:http://127.0.0.1:9/v2/feeds/1'] } });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ where: '--sink', key: 'sinks[0].token' });
    expect(error.issues[0]!.problem).toMatch(/COSM_API_KEY/);
    expect(await runExit({ sink: ['feed=cosm:http://127.0.0.1:9/v2/feeds/1'] })).toBe(2);
  });
});

describe('secrets from the environment (issue 13)', () => {
  const v1 = 'home=influxdb-v1:http://127.0.0.1:8086?db=energy';

  it('INFLUX_PASSWORD_FILE naming a file that does not exist: exit 2 naming the variable', async () => {
    const env = { INFLUX_USERNAME: 'me', INFLUX_PASSWORD_FILE: '/nope' };
    const error = await issuesOf({ flags: { sink: [v1] }, env });
    expect(error.code).toBe('P1_FILE_NOT_FOUND');
    expect(error.issues[0]).toMatchObject({ where: 'INFLUX_PASSWORD_FILE', key: 'sinks[0].password' });
    expect(error.issues[0]!.problem).toContain('/nope does not exist');
    expect(await runExit({ sink: [v1] }, env)).toBe(2);
  });

  it('INFLUX_PASSWORD_FILE without INFLUX_USERNAME is said, not ignored', async () => {
    const secretFile = await file('pw', 'sekrit-pw-5678\n');
    for (const env of [{ INFLUX_PASSWORD_FILE: secretFile }, { INFLUX_PASSWORD: 'sekrit-pw-5678' }]) {
      const error = await issuesOf({ flags: { sink: [v1] }, env });
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toMatchObject({ where: Object.keys(env)[0], key: 'sinks[0].username' });
      expect(error.issues[0]!.problem).toMatch(/INFLUX_USERNAME is not set/);
      expect(error.message).not.toContain('sekrit-pw-5678');
      expect(await runExit({ sink: [v1] }, env)).toBe(2);
    }
  });

  it('a YAML alias bomb is P1_CONFIG_INVALID naming the file, exit 2, no stack trace', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const path = await file('bomb.yaml', `${bomb.join('\n')}\n`);
    const result = await runCli(['config', 'check', path], { env: baseEnv });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('P1_CONFIG_INVALID');
    expect(result.stderr).toContain(path);
    expect(result.stderr).not.toContain('ReferenceError');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    const run = await runCli(['run', '--config', path, '--data-dir', join(dir, 'bomb-data')], { env: baseEnv });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(path);
  });
});

describe('config check and run agree on what is a p1logger setting', () => {
  it('P1LOGGER_REPORT_STORED (a switch of run, documented in its --help) is no warning', async () => {
    const { warnings } = await load({ env: { P1LOGGER_REPORT_STORED: '1' } });
    expect(warnings).toEqual([]);
    const help = await runCli(['run', '--help'], { env: baseEnv });
    expect(help.stdout).toContain('P1LOGGER_REPORT_STORED=1');
  });
});
