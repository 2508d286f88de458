import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { freePort } from '../support/free-port.js';
import { Influxd } from '../support/influxd.js';
import { runCli, watchCli } from '../support/cli.js';
import { until } from '../sources/log-capture.js';
import { envWithout } from '../support/env.js';

/** `run --source file:...` forwards a whole capture: it exits when every sink has it, not when it is stored. */
let dir: string;
let influxd: Influxd;
let capture: string;
const COUNT = 300;
const cleanups: Array<() => Promise<void>> = [];
const env = envWithout('P1LOGGER_', 'INFLUX_');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1run-'));
  influxd = await Influxd.start();
  capture = join(dir, 'capture.txt');
  const sim = await runCli(['simulate', '--fast', '--count', String(COUNT), '--start', '2025-01-14T08:00:00Z', '--out', capture], { env });
  expect(sim.code).toBe(0);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await influxd?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('run with a finite source', () => {
  it('waits at the end of the file until every sink has caught up (progress in the log), then exits 0', async () => {
    const dataDir = join(dir, 'forward');
    const result = await runCli(
      ['run', '--source', `file:${capture}`, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--sink', `home=influxdb-v1:${influxd.url}?db=forwarded`],
      { env, timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('every sink has caught up');
    const rows = await influxd.query('SELECT count(import_t1) FROM electricity', 'forwarded');
    expect(rows[0]!.values[0]![1]).toBe(COUNT);
  });

  it('SIGTERM while waiting stops at once, exit 0, the rest waiting in the queue', async () => {
    const dataDir = join(dir, 'unreachable');
    const nobody = await freePort();
    const cli = watchCli(['run', '--source', `file:${capture}`, '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--sink', `home=influxdb-v1:http://127.0.0.1:${nobody}?db=p1`], cleanups);
    await until(() => cli.stdout().includes('waiting for the sinks to catch up'), 60_000, 'the wait for the sinks');
    const progress = cli.stdout().split('\n').find((l) => l.includes('waiting for the sinks to catch up'))!;
    expect(JSON.parse(progress)).toMatchObject({ lastSeq: COUNT, waiting: [{ sink: 'home', behind: COUNT }] });
    const sent = Date.now();
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5000);
    const queue = await Queue.open(dataDir, { readOnly: true });
    try {
      const status = await queue.status();
      expect(status.records).toBe(COUNT);
      expect(status.sinks.find((s) => s.sink === 'home')?.lag).toBe(COUNT);
    } finally {
      await queue.close();
    }
  });
});
