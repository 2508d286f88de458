import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, watchCli, type WatchedCli } from '../support/cli.js';
import { until } from '../sources/log-capture.js';
import { envWithout } from '../support/env.js';

/**
 * `status` of a data directory a running service holds asks *that* service: the one whose API address it wrote
 * into the directory, and which reports the same directory. Two services run side by side, on ports the OS picked;
 * the configured default (127.0.0.1:8080) is never asked.
 */
let dir: string;
const cleanups: Array<() => Promise<void>> = [];
const env = envWithout('P1LOGGER_');

interface Service {
  cli: WatchedCli;
  dataDir: string;
  url: string;
}

async function startService(name: string, extra: string[] = []): Promise<Service> {
  const dataDir = join(dir, name);
  const cli = watchCli(['run', '--source', 'simulate?interval=0.2', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extra], cleanups);
  await until(() => /acquisition started/.test(cli.stdout()), 30_000, `${name} to start`);
  const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)\//.exec(cli.stdout())?.[1] ?? '';
  return { cli, dataDir, url };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1status-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('p1logger status while the service runs', () => {
  let a: Service;
  let b: Service;
  beforeAll(async () => {
    [a, b] = await Promise.all([startService('a'), startService('b')]);
    await until(() => existsSync(join(a.dataDir, 'api.json')) && existsSync(join(b.dataDir, 'api.json')), 10_000, 'the API address files');
  });

  it('asks the service of that data directory, at the address it wrote there', async () => {
    for (const service of [a, b]) {
      const result = await runCli(['status', '--data-dir', service.dataDir], { env });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { via: string; dataDir: string; process: { pid: number } };
      expect(report.via).toBe(`${service.url}/api/status`);
      expect(report.dataDir).toBe(await realpath(service.dataDir));
      expect(report.process.pid).toBe(service.cli.child.pid);
    }
  });

  it('--listen asks that address, and refuses a service of another data directory', async () => {
    const right = await runCli(['status', '--data-dir', a.dataDir, '--listen', a.url.replace('http://', '')], { env });
    expect(right.code).toBe(0);
    const wrong = await runCli(['status', '--data-dir', a.dataDir, '--listen', b.url.replace('http://', '')], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain('P1_QUEUE_LOCKED');
    expect(wrong.stderr).toContain(`uses the data directory ${await realpath(b.dataDir)}, not ${await realpath(a.dataDir)}`);
  });

  it('a service with its status API off: exit 1 saying so and how to point at it', async () => {
    const config = join(dir, 'no-http.yaml');
    await writeFile(config, 'http: { enabled: false }\n');
    const c = await startService('c', ['--config', config]);
    const result = await runCli(['status', '--data-dir', c.dataDir], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('P1_QUEUE_LOCKED');
    expect(result.stderr).toContain(`it wrote no ${join(c.dataDir, 'api.json')}`);
    expect(result.stderr).toContain('--listen HOST:PORT');
    c.cli.child.kill('SIGTERM');
    expect(await c.cli.exit).toBe(0);
  });

  it('the file goes when the service stops', async () => {
    a.cli.child.kill('SIGTERM');
    expect(await a.cli.exit).toBe(0);
    expect(existsSync(join(a.dataDir, 'api.json'))).toBe(false);
    const result = await runCli(['status', '--data-dir', a.dataDir], { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).not.toHaveProperty('via');
  });
});
