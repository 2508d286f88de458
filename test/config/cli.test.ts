import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../support/cli.js';
import { writeFileWithMode } from '../support/files.js';
import { envWithout } from '../support/env.js';

const SECRET = 'cli-secret-7d2f91';
let dir: string;
// The test must not depend on P1LOGGER_* variables of whoever runs it.
const baseEnv = envWithout('P1LOGGER_');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string, text: string, mode = 0o640): Promise<string> {
  return writeFileWithMode(dir, name, text, mode);
}

describe('p1logger config check FILE', () => {
  it('prints the effective configuration with secrets masked and exits 0', async () => {
    const path = await file(
      'ok.yaml',
      'source: serial:/dev/p1?dsmr=auto\nsinks:\n  - name: influx\n    url: influxdb:http://127.0.0.1:8086?org=home&bucket=p1\n    token: { env: INFLUX_TOKEN }\n',
    );
    const result = await runCli(['config', 'check', path, '--listen', '127.0.0.1:9999'], { env: { ...baseEnv, INFLUX_TOKEN: SECRET, P1LOGGER_DATA_DIR: '/srv/p1' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(SECRET);
    expect(result.stdout).toContain('token: "***" # from env INFLUX_TOKEN');
    const effective = parse(result.stdout) as Record<string, unknown>;
    expect(effective).toMatchObject({
      source: 'serial:/dev/p1?dsmr=auto',
      dataDir: '/srv/p1',
      http: { listen: '127.0.0.1:9999', enabled: true },
      sinks: [{ name: 'influx', token: '***', batchSize: 500, maxRetryDelaySeconds: 300 }],
    });
  });

  it('exits 2 with every problem on stderr (key, value, allowed) and nothing on stdout', async () => {
    const path = await file('bad.yaml', 'http:\n  listen: nowhere\nqueue:\n  durability: fast\n');
    const result = await runCli(['config', 'check', path], { env: baseEnv });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('P1_CONFIG_INVALID');
    expect(result.stderr).toContain(`${path}:2: http.listen = "nowhere": not a HOST:PORT address; allowed: HOST:PORT`);
    expect(result.stderr).toContain(`${path}:4: queue.durability = "fast": not allowed; allowed: sync or grouped`);
  });

  it('exits 2 on a secret file others can read, naming the file and not the secret', async () => {
    const token = await file('t.token', SECRET, 0o644);
    const path = await file('s.yaml', `sinks:\n  - name: c\n    url: cosm:http://127.0.0.1:1/v2/feeds/1\n    token: { file: ${token} }\n`);
    const result = await runCli(['config', 'check', path], { env: baseEnv });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('P1_SECRET_FILE_MODE');
    expect(result.stderr).toContain(token);
    expect(result.stderr + result.stdout).not.toContain(SECRET);
    const skipped = await runCli(['config', 'check', path, '--skip-secrets'], { env: baseEnv });
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain(`token: "***" # from file ${token}`);
  });

  it('exits 2 for a file that does not exist', async () => {
    const result = await runCli(['config', 'check', join(dir, 'missing.yaml')], { env: baseEnv });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('P1_FILE_NOT_FOUND');
  });
});
