import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, spawnCli } from '../support/cli.js';
import { CosmServer } from '../support/cosm-server.js';
import { freePort } from '../support/free-port.js';

/** `p1logger run` as the appliance runs it: a meter, the queue, a sink and the status page, all for real. */
describe('p1logger run with a sink and the status page', () => {
  let dir: string;
  let cosm: CosmServer;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'p1-appliance-'));
    cosm = await CosmServer.start({ apiKey: 'k-appliance', feeds: ['42'] });
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await cosm.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await Promise.resolve().then(probe).catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('stores, uploads, serves status and metrics, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const config = path.join(dir, 'config.yaml');
    await writeFile(
      config,
      [
        'source: simulate?interval=0.2',
        `dataDir: ${path.join(dir, 'data')}`,
        `http: { listen: "127.0.0.1:${port}" }`,
        'sinks:',
        `  - name: feed`,
        `    url: cosm:${cosm.url}/v2/feeds/42`,
        '    token: { env: COSM_API_KEY }',
        '    maxRetryDelaySeconds: 2',
      ].join('\n'),
    );
    child = spawnCli(['run', '--config', config], { env: { ...process.env, COSM_API_KEY: 'k-appliance' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const base = `http://127.0.0.1:${port}`;

    // The uploader delivers the simulated meter's readings to the feed with their own times.
    const points = await until('datapoints at the feed', () => {
      const p = cosm.datapoints('42', 'import_t1');
      return p.length >= 3 ? p : undefined;
    });
    expect(Number(points[0]!.value)).toBeGreaterThan(0);

    const status = await until('a status with the sink ok', async () => {
      const response = await fetch(`${base}/api/status`);
      const body = (await response.json()) as { sinks: Array<{ name: string; state: string }>; framer: { telegrams: number } };
      return body.sinks[0]?.state === 'ok' && body.framer.telegrams >= 3 ? body : undefined;
    });
    expect(status.sinks.map((s) => s.name)).toEqual(['feed']);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^p1logger_telegrams_total \d+/m);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('uPlot');

    // The API key never appears in the logs.
    expect(output).not.toContain('k-appliance');

    // `status` cannot open the database the service holds: it asks the service over its loopback API instead.
    const viaService = await runCli(['status', '--config', config], { env: { ...process.env, COSM_API_KEY: 'k-appliance' } });
    expect(viaService.code).toBe(0);
    const report = JSON.parse(viaService.stdout) as { via: string; queue: { records: number }; sinks: Array<{ name: string }> };
    expect(report.via).toBe(`${base}/api/status`);
    expect(report.queue.records).toBeGreaterThanOrEqual(3);
    expect(report.sinks.map((s) => s.name)).toEqual(['feed']);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    child = undefined;
  });

  it('refuses a bad sink spec before touching the meter, exit 2', async () => {
    const config = path.join(dir, 'bad.yaml');
    await writeFile(config, ['source: simulate', `dataDir: ${path.join(dir, 'data2')}`, 'http: { enabled: false }', 'sinks:', '  - name: x', '    url: influxdb:http://127.0.0.1:1/?bucket=b'].join('\n'));
    const bad = spawnCli(['run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    bad.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(bad, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toMatch(/org/);
  });
});
