import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { Influxd } from '../support/influxd.js';

const CHILD = fileURLToPath(new URL('../support/uploader-child.ts', import.meta.url));
const RECORDS = 3000;
const BATCH = 500;
const START = Date.UTC(2024, 8, 1);

/**
 * Between the uploader and influxd: forwards every request, except that it holds back influxd's answer to the
 * `holdNth` write. The batch is then in the database but the uploader has not heard so, and has not acked it:
 * the moment a crash is most likely to duplicate or lose something.
 */
class HoldingProxy {
  writes = 0;
  holdNth = 0;
  readonly held: ServerResponse[] = [];
  private heldResolve: (() => void) | undefined;
  readonly heldOne = new Promise<void>((resolve) => (this.heldResolve = resolve));
  private server: Server | undefined;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          // Only writes are counted (the sink also sends a CREATE DATABASE to /query first).
          const nth = req.url?.startsWith('/write') === true ? ++this.writes : 0;
          const headers = req.headers['content-type'] === undefined ? {} : { 'content-type': req.headers['content-type'] };
          const answer = await fetch(`${this.target}${req.url ?? '/'}`, { method: req.method ?? 'POST', body: Buffer.concat(chunks), headers });
          const body = await answer.text();
          if (nth === this.holdNth) {
            this.held.push(res);
            this.heldResolve?.();
            return;
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
          res.end(body);
        })();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

function run(dataDir: string, spec: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, spec, String(BATCH)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

let influxd: Influxd;
let dir: string;
beforeAll(async () => {
  influxd = await Influxd.start();
  await influxd.createDatabase('p1');
  dir = await mkdtemp(join(tmpdir(), 'p1logger-crash-'));
});
afterAll(async () => {
  await influxd?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('SIGKILL of the uploader process in the middle of a batch', () => {
  it('after a restart: no gap and no duplicate point', async () => {
    const queue = await Queue.open(dir, { retentionIntervalMs: 0 });
    const meter = new VirtualMeter({ dsmr: '5', startMs: START });
    const times = Array.from({ length: RECORDS }, (_, i) => START + i * 1000);
    // Appended together: the queue writes what arrives during one fsync in the next one, in order.
    await Promise.all(times.map((t) => queue.append(meter.telegramAt(t), new Date(t))));
    await queue.close();

    const proxy = new HoldingProxy(influxd.url);
    proxy.holdNth = 3;
    const proxied = await proxy.start();
    try {
      const first = run(dir, `influxdb-v1:${proxied}?db=p1`);
      await Promise.race([proxy.heldOne, first.exited.then(() => Promise.reject(new Error(`child exited early:\n${first.output()}`)))]);
      // Batch 3 is in influxd but unacknowledged (acks go in order, so batch 4, which may be in too, is not either).
      const written = await count();
      expect(written).toBeGreaterThanOrEqual(3 * BATCH);
      expect(written).toBeLessThan(RECORDS);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();

      // Restarted: it re-sends batch 3 (the cursor says 2 batches) and goes on.
      const second = run(dir, `influxdb-v1:${influxd.url}?db=p1`);
      expect(await second.exited, second.output()).toBe(0);
      expect(second.output()).toMatch(/drained/);
    } finally {
      await proxy.close();
    }

    const rows = await influxd.rows('p1', 'electricity');
    expect(rows).toHaveLength(RECORDS);
    expect(rows.map((r) => Date.parse(String(r.time)))).toEqual(times);
    const reopened = await Queue.open(dir, { retentionIntervalMs: 0 });
    try {
      expect(await reopened.cursor('db')).toBe(RECORDS);
      expect(await reopened.deadLetters('db')).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});

async function count(): Promise<number> {
  const series = await influxd.query('SELECT count(power_import) FROM electricity', 'p1');
  return (series[0]?.values[0]?.[1] as number | undefined) ?? 0;
}
