import { spawn } from 'node:child_process';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { cliArgs, repoRoot } from '../support/cli.js';
import { makeTelegram, makeTempDir } from './helpers.js';

/** A data directory written by the first release (record format v1): see test/fixtures/queue-v1/README.md. */
const fixture = join(repoRoot, 'test/fixtures/queue-v1');

interface Expected {
  status: Record<string, unknown>;
  records: Array<Omit<QueueRecord, 'protocol'>>;
  deadLetters: Array<{ sink: string; seq: number; reason: string; parkedAt: string; record: Omit<QueueRecord, 'protocol'> }>;
}

let dir: string;
let expected: Expected;

beforeEach(async () => {
  dir = await makeTempDir();
  await cp(join(fixture, 'data'), join(dir, 'data'), { recursive: true });
  expected = JSON.parse(await readFile(join(fixture, 'expected.json'), 'utf8')) as Expected;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('opens a v1 data directory and reads its records, cursors, counters and dead letters as that release did', async () => {
  const queue = await Queue.open(join(dir, 'data'), { readOnly: true });
  try {
    const records = await queue.readAfter(0, 1000);
    expect(records).toEqual(expected.records.map((r) => ({ ...r, protocol: 'dsmr' })));
    expect(records.find((r) => r.seq === 41)?.raw).toBe(Array.from({ length: 256 }, (_, b) => String.fromCharCode(b)).join(''));
    const { bytesOnDisk, sinks, ...status } = await queue.status();
    expect(bytesOnDisk).toBeGreaterThan(0);
    const { sinks: expectedSinks, ...expectedStatus } = expected.status;
    expect(status).toMatchObject(expectedStatus);
    expect(sinks).toMatchObject(expectedSinks as object[]);
    expect(await queue.deadLetters('cosm')).toEqual(expected.deadLetters.map((d) => ({ ...d, record: { ...d.record, protocol: 'dsmr' } })));
  } finally {
    await queue.close();
  }
});

it('exports a v1 data directory byte for byte as that release did, raw and NDJSON', async () => {
  for (const [format, file] of [
    ['raw', 'export.bin'],
    ['ndjson', 'export.ndjson'],
  ] as const) {
    const out = await exportBytes(['export', '--data-dir', join(dir, 'data'), '--format', format]);
    expect(out.equals(await readFile(join(fixture, file))), `${format} export`).toBe(true);
  }
});

it('appends v2 records after the v1 ones, and reads both kinds in one pass', async () => {
  let queue = await Queue.open(join(dir, 'data'), { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 });
  const added = await queue.append(makeTelegram(100), new Date('2025-03-02T00:00:00Z'));
  expect(added.seq).toBe(46);
  await queue.close();
  queue = await Queue.open(join(dir, 'data'), { readOnly: true });
  try {
    const records = await queue.readAfter(40, 100);
    expect(records.map((r) => r.seq)).toEqual([41, 42, 43, 44, 45, 46]);
    expect(records[5]).toEqual({ seq: 46, receivedAt: '2025-03-02T00:00:00.000Z', protocol: 'dsmr', raw: makeTelegram(100) });
    expect(await queue.cursor('influx')).toBe(20);
  } finally {
    await queue.close();
  }
});

function exportBytes(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`export exited ${code}: ${err}`))));
  });
}
