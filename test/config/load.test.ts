import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, configFields, loadConfig, type LoadConfigOptions } from '../../src/config.js';
import { isP1Error } from '../../src/errors.js';
import { Secret } from '../../src/config/secret.js';
import { writeFileWithMode } from '../support/files.js';

let dir: string;
const NO_DEFAULT = '/nonexistent/p1logger/config.yaml';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1cfg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string, text: string, mode = 0o600): Promise<string> {
  return writeFileWithMode(dir, name, text, mode);
}

function load(options: LoadConfigOptions = {}) {
  return loadConfig({ env: {}, defaultConfigPath: NO_DEFAULT, cwd: dir, ...options });
}

async function configError(options: LoadConfigOptions): Promise<ConfigError> {
  const error: unknown = await load(options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('embedded default and file lookup', () => {
  it('runs the simulator into ./data with the page on 127.0.0.1:8080 when nothing is configured', async () => {
    const { config, file, warnings } = await load();
    expect(file).toBeNull();
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      source: 'simulate',
      dataDir: './data',
      timeZone: 'Europe/Amsterdam',
      http: { listen: '127.0.0.1:8080', enabled: true },
      relay: { maxClients: 5 },
      queue: { durability: 'sync', syncIntervalMs: 10000, retention: { maxAgeDays: 30, maxBytes: 1073741824 } },
      sinks: [],
      history: {},
      tariffs: { currency: 'EUR', import: [], export: [], gas: [], fixedPerDay: [] },
      ui: { locale: 'nl-NL', tariffNames: { t1: 'low', t2: 'normal' } },
      log: { level: 'info' },
    });
  });

  it('reads the default path when it exists, P1LOGGER_CONFIG over it, --config over both', async () => {
    const def = await file('default.yaml', 'dataDir: /from/default\n');
    const viaEnv = await file('env.yaml', 'dataDir: /from/env\n');
    const viaFlag = await file('flag.yaml', 'dataDir: /from/flag\n');
    expect((await load({ defaultConfigPath: def })).config.dataDir).toBe('/from/default');
    expect((await load({ defaultConfigPath: def, env: { P1LOGGER_CONFIG: viaEnv } })).config.dataDir).toBe('/from/env');
    const both = await load({ defaultConfigPath: def, env: { P1LOGGER_CONFIG: viaEnv }, flags: { config: viaFlag } });
    expect(both.config.dataDir).toBe('/from/flag');
    expect(both.file).toBe(viaFlag);
  });

  it('an empty file is the embedded default', async () => {
    const path = await file('empty.yaml', '# nothing yet\n');
    expect((await load({ flags: { config: path } })).config.source).toBe('simulate');
  });

  it('a named file that does not exist is P1_FILE_NOT_FOUND naming it', async () => {
    const missing = join(dir, 'nope.yaml');
    const error: unknown = await load({ flags: { config: missing } }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_FILE_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain(missing);
  });
});

describe('layers: file < environment < flags', () => {
  it('environment variables override the file, flags override both', async () => {
    const path = await file('c.yaml', 'source: tcp:meter.local:2001\ndataDir: /a\nhttp: { listen: 127.0.0.1:9000 }\n');
    const fromEnv = await load({ flags: { config: path }, env: { P1LOGGER_SOURCE: 'file:/tmp/capture.txt', P1LOGGER_HTTP_LISTEN: '127.0.0.1:9001' } });
    expect(fromEnv.config.source).toBe('file:/tmp/capture.txt');
    expect(fromEnv.config.http.listen).toBe('127.0.0.1:9001');
    expect(fromEnv.config.dataDir).toBe('/a');
    const fromFlags = await load({
      flags: { config: path, source: 'serial:/dev/p1', dataDir: '/b', listen: '[::1]:9002', logLevel: 'debug', sink: ['cosm:http://127.0.0.1:1/v2/feeds/7'] },
      env: { P1LOGGER_SOURCE: 'file:/tmp/capture.txt', P1LOGGER_DATA_DIR: '/c', COSM_API_KEY: 'key' },
    });
    expect(fromFlags.config).toMatchObject({ source: 'serial:/dev/p1', dataDir: '/b', http: { listen: '[::1]:9002' }, log: { level: 'debug' } });
    expect(fromFlags.config.sinks).toEqual([{ name: 'cosm', url: 'cosm:http://127.0.0.1:1/v2/feeds/7', batchSize: 500, maxRetryDelaySeconds: 300 }]);
  });

  // One valid sample per key: the test fails when a key is added without a sample, so every key's variable is tried.
  const samples: Record<string, { env: string; value: unknown }> = {
    source: { env: 'tcp:127.0.0.1:2001', value: 'tcp:127.0.0.1:2001' },
    dataDir: { env: '/var/lib/p1logger', value: '/var/lib/p1logger' },
    timeZone: { env: 'Europe/Brussels', value: 'Europe/Brussels' },
    'http.listen': { env: '127.0.0.1:0', value: '127.0.0.1:0' },
    'http.enabled': { env: 'false', value: false },
    'relay.listen': { env: '127.0.0.1:2323', value: '127.0.0.1:2323' },
    'relay.maxClients': { env: '2', value: 2 },
    'queue.durability': { env: 'grouped', value: 'grouped' },
    'queue.syncIntervalMs': { env: '250', value: 250 },
    'queue.retention.maxAgeDays': { env: '7.5', value: 7.5 },
    'queue.retention.maxBytes': { env: '2097152', value: 2097152 },
    sinks: {
      env: '[{name: v1, url: "influxdb-v1:http://127.0.0.1:8086?db=p1", batchSize: 100}]',
      value: [{ name: 'v1', url: 'influxdb-v1:http://127.0.0.1:8086?db=p1', batchSize: 100, maxRetryDelaySeconds: 300 }],
    },
    'log.level': { env: 'warn', value: 'warn' },
    // Meter keys are secrets: resolved, masked (test/config/meter-keys.test.ts checks the values).
    decryptionKey: { env: '00112233445566778899aabbccddeeff', value: expect.any(Secret) },
    authenticationKey: { env: '00112233445566778899AABBCCDDEEFF', value: expect.any(Secret) },
    'history.maxAgeDays': { env: '3650', value: 3650 },
    'tariffs.currency': { env: 'CHF', value: 'CHF' },
    'tariffs.import': { env: '[{from: "2025-01-01", t1: 0.2, t2: 0.25}]', value: [{ from: '2025-01-01', t1: 0.2, t2: 0.25 }] },
    'tariffs.export': { env: '[{from: "2025-01-01", price: 0.07}]', value: [{ from: '2025-01-01', price: 0.07 }] },
    'tariffs.gas': { env: '[{from: "2025-01-01", price: 1.3}]', value: [{ from: '2025-01-01', price: 1.3 }] },
    'tariffs.fixedPerDay': { env: '[{from: "2025-01-01", price: 0.9}]', value: [{ from: '2025-01-01', price: 0.9 }] },
    'ui.locale': { env: 'en-GB', value: 'en-GB' },
    'ui.tariffNames.t1': { env: 'off-peak', value: 'off-peak' },
    'ui.tariffNames.t2': { env: 'peak', value: 'peak' },
  };

  it('every key outside lists has a P1LOGGER_ variable derived from its path', () => {
    const envFields = configFields().filter((f) => f.env !== null);
    expect(envFields.map((f) => f.key).sort()).toEqual(Object.keys(samples).sort());
    const names = Object.fromEntries(envFields.map((f) => [f.key, f.env]));
    expect(names).toMatchObject({
      dataDir: 'P1LOGGER_DATA_DIR',
      'http.listen': 'P1LOGGER_HTTP_LISTEN',
      'queue.syncIntervalMs': 'P1LOGGER_QUEUE_SYNC_INTERVAL_MS',
      'queue.retention.maxAgeDays': 'P1LOGGER_QUEUE_RETENTION_MAX_AGE_DAYS',
      'log.level': 'P1LOGGER_LOG_LEVEL',
      sinks: 'P1LOGGER_SINKS',
    });
  });

  it.each(Object.entries(samples))('%s is overridden by its variable, converted to the right type', async (key, sample) => {
    const field = configFields().find((f) => f.key === key)!;
    const { config } = await load({ env: { [field.env!]: sample.env } });
    let value: unknown = config;
    for (const segment of field.path) value = (value as Record<string, unknown>)[segment];
    expect(value).toEqual(sample.value);
  });

  it('an unknown P1LOGGER_ variable is a warning naming it, not silence', async () => {
    const { warnings } = await load({ env: { P1LOGGER_DATADIR: '/typo' } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('P1LOGGER_DATADIR');
    expect(warnings[0]).toContain('P1LOGGER_DATA_DIR');
  });

  it('--sink names sinks after their scheme, or NAME=SPEC', async () => {
    const { config } = await load({
      flags: { sink: ['influxdb:http://127.0.0.1:8086?org=o&bucket=b', 'influxdb:http://127.0.0.1:8087?org=o&bucket=b', 'vm=influxdb:http://127.0.0.1:8428?org=o&bucket=b'] },
    });
    expect(config.sinks.map((s) => [s.name, s.url])).toEqual([
      ['influxdb', 'influxdb:http://127.0.0.1:8086?org=o&bucket=b'],
      ['influxdb-2', 'influxdb:http://127.0.0.1:8087?org=o&bucket=b'],
      ['vm', 'influxdb:http://127.0.0.1:8428?org=o&bucket=b'],
    ]);
  });

  it('warns that a non-loopback listen address exposes the readings', async () => {
    const { warnings } = await load({ flags: { listen: '0.0.0.0:8080' } });
    expect(warnings.join('\n')).toMatch(/0\.0\.0\.0:8080 is reachable from other machines/);
  });
});

describe('errors name where, the key, the bad value and what is allowed', () => {
  const cases: Array<{ name: string; yaml: string; where: string; key: string; value: string | null; allowed: RegExp }> = [
    { name: 'enum', yaml: 'queue:\n  durability: fast\n', where: ':2', key: 'queue.durability', value: '"fast"', allowed: /sync or grouped/ },
    { name: 'integer range', yaml: 'queue:\n  syncIntervalMs: 5\n', where: ':2', key: 'queue.syncIntervalMs', value: '5', allowed: /from 10 to 60000/ },
    { name: 'not an integer', yaml: 'queue: { retention: { maxBytes: 2000000.5 } }\n', where: ':1', key: 'queue.retention.maxBytes', value: '2000000.5', allowed: /integer number of bytes/ },
    { name: 'wrong type', yaml: 'http:\n  enabled: yes\n', where: ':2', key: 'http.enabled', value: '"yes"', allowed: /true or false/ },
    { name: 'listen address', yaml: 'http:\n  listen: localhost:99999\n', where: ':2', key: 'http.listen', value: '"localhost:99999"', allowed: /HOST:PORT/ },
    { name: 'source scheme', yaml: '\nsource: com1\n', where: ':2', key: 'source', value: '"com1"', allowed: /serial:\/dev\/PATH.*tcp:HOST:PORT.*simulate/ },
    { name: 'time zone', yaml: 'timeZone: Mars/Olympus\n', where: ':1', key: 'timeZone', value: '"Mars/Olympus"', allowed: /tz database zone/ },
    { name: 'log level', yaml: 'log: { level: loud }\n', where: ':1', key: 'log.level', value: '"loud"', allowed: /fatal, error, warn, info, debug, trace, silent/ },
    { name: 'unknown key', yaml: 'http:\n  listen: 127.0.0.1:8080\n  lisen: 1\n', where: ':3', key: 'http.lisen', value: null, allowed: /in http: listen, enabled/ },
    { name: 'unknown top-level key', yaml: 'datadir: /x\n', where: ':1', key: 'datadir', value: null, allowed: /at the top level: source, dataDir, timeZone, decryptionKey, authenticationKey, http, relay, queue, sinks, history, tariffs, ui, log/ },
    { name: 'section of the wrong type', yaml: 'http: 8080\n', where: ':1', key: 'http', value: '8080', allowed: /mapping with the keys listen, enabled/ },
    { name: 'sinks not a list', yaml: 'sinks: influxdb:http://x\n', where: ':1', key: 'sinks', value: '"influxdb:http://x"', allowed: /list of sinks/ },
    { name: 'missing sink url', yaml: 'sinks:\n  - name: a\n    batchSize: 10\n', where: ':2', key: 'sinks[0].url', value: null, allowed: /influxdb:URL\?org=O&bucket=B/ },
    { name: 'bad sink spec', yaml: 'sinks:\n  - name: a\n    url: mysql://x\n', where: ':3', key: 'sinks[0].url', value: '"mysql://x"', allowed: /influxdb-v1:URL\?db=D/ },
    { name: 'bad sink name', yaml: 'sinks:\n  - name: "my sink"\n    url: influxdb-v1:http://127.0.0.1/?db=p1\n', where: ':2', key: 'sinks[0].name', value: '"my sink"', allowed: /letters, digits/ },
    {
      name: 'duplicate sink name',
      yaml: 'sinks:\n  - name: a\n    url: influxdb-v1:http://127.0.0.1/?db=p1\n  - name: a\n    url: influxdb-v1:http://127.0.0.1/?db=p2\n',
      where: ':4',
      key: 'sinks[1].name',
      value: '"a"',
      allowed: /a name no other sink has/,
    },
    { name: 'sink entry not a mapping', yaml: 'sinks:\n  - influxdb:http://x\n', where: ':2', key: 'sinks[0]', value: '"influxdb:http://x"', allowed: /mapping with the keys name, url, token/ },
  ];

  it.each(cases)('$name', async ({ yaml, where, key, value, allowed }) => {
    const path = await file('c.yaml', yaml);
    const error = await configError({ flags: { config: path } });
    expect(error.code).toBe('P1_CONFIG_INVALID');
    expect(error.issues).toHaveLength(1);
    const issue = error.issues[0]!;
    expect(issue).toMatchObject({ where: `${path}${where}`, key, value });
    expect(issue.allowed).toMatch(allowed);
    // The message the user reads carries all of it.
    expect(error.message).toContain(`${path}${where}: ${key}`);
    if (value !== null) expect(error.message).toContain(value);
    expect(error.message).toMatch(allowed);
  });

  it('reports every problem at once, not the first only', async () => {
    const path = await file('c.yaml', 'queue: { durability: fast }\nlog: { level: loud }\nbogus: 1\n');
    const error = await configError({ flags: { config: path } });
    expect(error.issues.map((i) => i.key).sort()).toEqual(['bogus', 'log.level', 'queue.durability']);
  });

  it('an environment variable and a flag are named as where the bad value came from', async () => {
    const error = await configError({ env: { P1LOGGER_QUEUE_SYNC_INTERVAL_MS: 'soon' }, flags: { listen: 'everywhere' } });
    expect(error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ where: 'P1LOGGER_QUEUE_SYNC_INTERVAL_MS', key: 'queue.syncIntervalMs', value: '"soon"' }),
        expect.objectContaining({ where: '--listen', key: 'http.listen', value: '"everywhere"' }),
      ]),
    );
    const sinks = await configError({ env: { P1LOGGER_SINKS: '[{name: a}]' } });
    expect(sinks.issues[0]).toMatchObject({ where: 'P1LOGGER_SINKS', key: 'sinks[0].url', value: null });
  });

  it('YAML syntax errors name the file, line and column', async () => {
    const path = await file('c.yaml', 'http:\n  listen: 127.0.0.1:8080\n   enabled: true\n');
    const error: unknown = await load({ flags: { config: path } }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^${path}:2:\\d+: not valid YAML: `));
  });

  it('a top level that is not a mapping is refused with the file named', async () => {
    const path = await file('c.yaml', '- source: simulate\n');
    await expect(load({ flags: { config: path } })).rejects.toThrow(`${path}:1: the top level must be a mapping`);
  });

  it('a broken P1LOGGER_SINKS is refused without echoing its text (it may hold a token)', async () => {
    const error: unknown = await load({ env: { P1LOGGER_SINKS: '[{name: a, token: sekrit-value' } }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('P1LOGGER_SINKS');
    expect((error as Error).message).not.toContain('sekrit');
  });
});
