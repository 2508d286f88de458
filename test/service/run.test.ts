import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { repoRoot, runCli, spawnCli } from '../support/cli.js';
import { fixtureBytes } from '../support/fixtures.js';
import { makeTelegram } from '../queue/helpers.js';

let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-run-'));
  // Reachable for the unprivileged user of the permission test.
  await chmod(dir, 0o755);
});

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Port 0: tests run side by side, and each run's status server must not collide with another's (or a real one).
const quietEnv = { ...process.env, P1LOGGER_LOG_LEVEL: 'warn', P1LOGGER_REPORT_STORED: '1', P1LOGGER_HTTP_LISTEN: '127.0.0.1:0' };

/** A running `p1logger run` and the seqs it has reported as stored so far. */
function startRun(args: string[], options: SpawnOptions = {}): { child: ChildProcess; stored: number[]; stderr: () => string; waitStored: (n: number) => Promise<void> } {
  const child = spawnCli(['run', ...args], { env: quietEnv, stdio: ['ignore', 'ignore', 'pipe'], ...options });
  children.add(child);
  const stored: number[] = [];
  let text = '';
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    for (const m of chunk.toString().matchAll(/^stored (\d+) /gm)) stored.push(Number(m[1]));
    for (const w of waiters.filter((w) => stored.length >= w.n)) w.resolve();
  });
  const waitStored = (n: number): Promise<void> =>
    stored.length >= n
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push({ n, resolve });
          child.once('close', () => reject(new Error(`p1logger run exited before storing ${n} telegrams: ${text}`)));
        });
  return { child, stored, stderr: () => text, waitStored };
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

async function storedSeqs(dataDir: string): Promise<number[]> {
  const queue = await Queue.open(dataDir, { readOnly: true });
  try {
    return (await queue.readAfter(0, Number.MAX_SAFE_INTEGER)).map((r) => r.seq);
  } finally {
    await queue.close();
  }
}

describe('p1logger run', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: stops reading, finishes writing, closes the database, exits 0 within 5 s', async (signal) => {
    const dataDir = join(dir, `signal-${signal}`);
    const run = startRun(['--source', 'simulate?interval=0.01', '--data-dir', dataDir]);
    await run.waitStored(20);
    const sent = Date.now();
    run.child.kill(signal);
    expect(await exitOf(run.child)).toEqual({ code: 0, signal: null });
    expect(Date.now() - sent).toBeLessThan(5000);
    const seqs = await storedSeqs(dataDir);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThanOrEqual(Math.max(...run.stored));
  });

  it('stores a capture exactly: export gives back the same bytes, and NDJSON like `p1logger parse`', async () => {
    const dataDir = join(dir, 'capture');
    const capture = join(dir, 'capture.txt');
    const bytes = Buffer.concat([fixtureBytes('V5.txt'), fixtureBytes('V2_2.txt'), fixtureBytes('FLUVIUS_V171.txt'), Buffer.from(makeTelegram(7), 'latin1')]);
    await writeFile(capture, bytes);
    const run = startRun(['--source', `file:${capture}?rate=fast`, '--data-dir', dataDir]);
    // A file source ends, and so does the run.
    expect(await exitOf(run.child)).toEqual({ code: 0, signal: null });
    expect(run.stored).toEqual([1, 2, 3, 4]);

    const rawBytes = await exportBytes(['export', '--data-dir', dataDir, '--format', 'raw']);
    expect(rawBytes.equals(bytes)).toBe(true);

    const ndjson = await runCli(['export', '--data-dir', dataDir, '--format', 'ndjson']);
    const parsed = await runCli(['parse', capture]);
    expect(ndjson.code).toBe(0);
    expect(ndjson.stdout).toBe(parsed.stdout);
    expect(ndjson.stdout.trim().split('\n')).toHaveLength(4);
  });

  it('with no configuration at all reads the simulator into ./data', async () => {
    const cwd = join(dir, 'defaults');
    await mkdir(cwd);
    // Run from another directory than the checkout: tsx is given by path.
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsx, join(repoRoot, 'src/cli.ts'), 'run'], {
      cwd,
      env: { ...quietEnv, P1LOGGER_CONFIG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    const firstStored = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('stored 1 ')) resolve();
      }),
    );
    await firstStored;
    child.kill('SIGTERM');
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    const status = await runCli(['status', '--data-dir', join(cwd, 'data')]);
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout) as { records: number; lastReceivedAt: string };
    expect(json.records).toBeGreaterThanOrEqual(1);
    const exported = await runCli(['export', '--data-dir', join(cwd, 'data')]);
    expect(exported.stdout).toMatch(/^\/SIM5/);
  });

  it('a source that fails (a capture file that is not there): exit 1 naming it; a bad spec: exit 2', async () => {
    const missing = join(dir, 'no-such-capture.txt');
    const failed = await runCli(['run', '--source', `file:${missing}`, '--data-dir', join(dir, 'failing-source')], { env: quietEnv });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(missing);
    const bad = await runCli(['run', '--source', 'bogus:', '--data-dir', join(dir, 'failing-source')], { env: quietEnv });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--source');
  });

  it('a data directory that cannot be created: exit 1, P1_QUEUE_NOT_WRITABLE naming the path', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const target = join(file, 'data');
    const result = await runCli(['run', '--source', 'simulate', '--data-dir', target], { env: quietEnv });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`data directory ${target} is not writable`);
  });

  it('a data directory without write permission: exit 1, P1_QUEUE_NOT_WRITABLE naming the path', async () => {
    const target = join(dir, 'read-only');
    await mkdir(target);
    await chmod(target, 0o555);
    // root writes through any mode bits: the check runs as an unprivileged user then.
    const asUser: SpawnOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const env = { ...quietEnv, HOME: dir };
    const child = spawnCli(['run', '--source', 'simulate', '--data-dir', target], { env, stdio: ['ignore', 'pipe', 'pipe'], ...asUser });
    children.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitOf(child)).toEqual({ code: 1, signal: null });
    await once(child, 'close');
    expect(stderr).toContain(`data directory ${target} is not writable`);
    expect(stderr).toMatch(/Permission denied|EACCES/);
    expect((await stat(target)).mode & 0o777).toBe(0o555);
  });
});

describe('one process per data directory', () => {
  it('while run holds the data directory, a second run and export exit 1 naming the lock, status asks the service; nothing is corrupted', async () => {
    const dataDir = join(dir, 'locked');
    const run = startRun(['--source', 'simulate?interval=0.01', '--data-dir', dataDir]);
    await run.waitStored(5);
    const lock = join(dataDir, 'queue', 'LOCK');
    for (const args of [
      ['run', '--source', 'simulate', '--data-dir', dataDir],
      ['export', '--data-dir', dataDir],
    ]) {
      const started = Date.now();
      const result = await runCli(args, { env: quietEnv, timeoutMs: 20_000 });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(lock);
      expect(result.stderr).toMatch(/stop that service first, or ask it through its HTTP API/);
      expect(result.stdout.replace(/^\{.*\}\n/gm, '')).toBe('');
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    const status = await runCli(['status', '--data-dir', dataDir], { env: quietEnv, timeoutMs: 20_000 });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toHaveProperty('via');
    await run.waitStored(run.stored.length + 5);
    run.child.kill('SIGTERM');
    expect(await exitOf(run.child)).toEqual({ code: 0, signal: null });
    const seqs = await storedSeqs(dataDir);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThanOrEqual(Math.max(...run.stored));
  });
});

describe('p1logger status and export', () => {
  it('status reports records, times, bytes and per-sink cursor, lag and dropped', async () => {
    const dataDir = join(dir, 'status');
    const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 });
    const t0 = Date.parse('2024-02-01T00:00:00Z');
    for (let i = 0; i < 10; i++) await queue.append(makeTelegram(i), new Date(t0 + i * 1000));
    await queue.ack('influx', 4);
    await queue.cursor('cosm');
    await queue.close();
    const result = await runCli(['status', '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as Record<string, unknown> & { sinks: Array<Record<string, unknown>> };
    expect(status).toMatchObject({
      dataDir,
      firstSeq: 1,
      lastSeq: 10,
      firstReceivedAt: '2024-02-01T00:00:00.000Z',
      lastReceivedAt: '2024-02-01T00:00:09.000Z',
      records: 10,
      durability: 'sync',
      state: 'up',
    });
    expect(status.bytesOnDisk).toBeGreaterThan(0);
    expect(status.sinks).toEqual([
      { sink: 'cosm', cursor: 0, lag: 10, lagSeconds: expect.any(Number) as number, dropped: 0, droppedByReason: { age: 0, size: 0, freeSpace: 0, diskFull: 0 }, deadLetters: 0, deadLetterReasons: {} },
      { sink: 'influx', cursor: 4, lag: 6, lagSeconds: expect.any(Number) as number, dropped: 0, droppedByReason: { age: 0, size: 0, freeSpace: 0, diskFull: 0 }, deadLetters: 0, deadLetterReasons: {} },
    ]);
    // The oldest unsent record of influx is seq 5, received at t0 + 4 s.
    expect(status.sinks[1]!.lagSeconds as number).toBeCloseTo((Date.now() - (t0 + 4000)) / 1000, -1);
  });

  it('export selects on receive time, [from, to)', async () => {
    const dataDir = join(dir, 'range');
    const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 });
    const t0 = Date.parse('2024-02-01T00:00:00Z');
    for (let i = 0; i < 6; i++) await queue.append(makeTelegram(i), new Date(t0 + i * 3600_000));
    await queue.close();
    const out = await exportBytes(['export', '--data-dir', dataDir, '--from', '2024-02-01T01:00:00Z', '--to', '2024-02-01T04:00:00+00:00']);
    expect(out.toString('latin1')).toBe([1, 2, 3].map((i) => makeTelegram(i)).join(''));
    const bad = await runCli(['export', '--data-dir', dataDir, '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ISO 8601');
  });

  it('a directory without a queue is a usage error, and creates nothing', async () => {
    const missing = join(dir, 'nothing-here');
    for (const command of ['status', 'export']) {
      const result = await runCli([command, '--data-dir', missing]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`no queue in data directory ${missing}`);
    }
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

/** stdout as bytes (runCli decodes it as UTF-8, which would alter latin1 bytes). */
async function exportBytes(args: string[]): Promise<Buffer> {
  const child = spawnCli(args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code).toBe(0);
  return Buffer.concat(chunks);
}
