import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Queue, type QueueOptions } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { makeTelegram, makeTempDir } from './helpers.js';
import { rm } from 'node:fs/promises';

/**
 * One named test per way the stored queue breaks (as Vector's disk buffer tests do): what a reader gets, what is
 * counted and logged, and that the logger goes on storing.
 */
const quiet: QueueOptions = { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 };
const TOTAL = 3000;
let dir: string;
let logLines: string[];

beforeEach(async () => {
  dir = await makeTempDir();
  logLines = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function logger(): ReturnType<typeof createLogger> {
  return createLogger({ level: 'warn', destination: { write: (line: string) => logLines.push(line) } as unknown as NodeJS.WritableStream });
}

/** A queue of TOTAL records, closed: LevelDB has written them out as tables (.ldb). */
async function storeRecords(): Promise<void> {
  const queue = await Queue.open(dir, { ...quiet, writeBufferSize: 64 * 1024 });
  for (let i = 0; i < TOTAL; i += 500) await Promise.all(Array.from({ length: 500 }, (_, k) => queue.append(makeTelegram(i + k))));
  await queue.cursor('influx');
  await queue.close();
}

/** Reads everything as an uploader does: batches after the last seq seen. */
async function drain(queue: Queue): Promise<QueueRecord[]> {
  const out: QueueRecord[] = [];
  for (let after = 0; ; ) {
    const batch = await queue.readAfter(after, 250);
    // Empty means the end of the log, also when whole batches before it were unreadable.
    if (batch.length === 0) return out;
    out.push(...batch);
    after = batch[batch.length - 1]!.seq;
  }
}

async function tables(): Promise<string[]> {
  const files = (await readdir(join(dir, 'queue'))).filter((f) => f.endsWith('.ldb'));
  const sized = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(dir, 'queue', f))).size })));
  return sized.sort((a, b) => b.size - a.size).map((x) => join(dir, 'queue', x.f));
}

describe('storage failures', () => {
  it('flipped bytes inside an .ldb table: every readable record is delivered, the rest counted and logged', async () => {
    await storeRecords();
    const [largest] = await tables();
    const handle = await open(largest!, 'r+');
    const { size } = await handle.stat();
    for (let k = 0; k < 64; k++) await handle.write(Buffer.from([0xa5]), 0, 1, Math.floor(size / 3) + k * 7);
    await handle.close();

    const queue = await Queue.open(dir, { ...quiet, logger: logger() });
    const records = await drain(queue);
    const status = await queue.status();
    await queue.close();
    expect(status.unreadable).toBeGreaterThan(0);
    expect(records.length + status.unreadable).toBe(TOTAL);
    for (const r of records) expect(r.raw).toBe(makeTelegram(r.seq - 1));
    expect(logLines.join('')).toContain('stored records could not be read');
  });

  it('a flipped byte inside one record value: the record fails its own checksum, counted, the others read', async () => {
    const queue = await Queue.open(dir, { ...quiet, logger: logger() });
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.append(makeTelegram(i))));
    await queue.close();
    // Rewrite seq 5 through LevelDB itself with one byte changed: LevelDB's checks all pass, ours must not.
    const db = new Level<string, Buffer>(join(dir, 'queue'), { valueEncoding: 'buffer' });
    const value = (await db.get('rec/0000000000000005'));
    value[value.length - 30] = value[value.length - 30]! ^ 0x04;
    await db.put('rec/0000000000000005', value);
    await db.close();

    const reopened = await Queue.open(dir, { ...quiet, logger: logger() });
    expect((await reopened.readAfter(0, 100)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    expect((await reopened.status()).unreadable).toBe(1);
    await reopened.close();
    expect(logLines.join('')).toContain('fails its checksum');
  });

  it('a whole batch of garbled records: the reader is handed the next good ones, not an empty end of the log', async () => {
    const queue = await Queue.open(dir, quiet);
    await Promise.all(Array.from({ length: 400 }, (_, i) => queue.append(makeTelegram(i))));
    await queue.close();
    const db = new Level<string, Buffer>(join(dir, 'queue'), { valueEncoding: 'buffer' });
    await db.batch(Array.from({ length: 300 }, (_, i) => ({ type: 'put' as const, key: `rec/${String(i + 1).padStart(16, '0')}`, value: Buffer.from([2, 0, 0, 0, 0, 0, 0]) })));
    await db.close();
    const reopened = await Queue.open(dir, quiet);
    const batch = await reopened.readAfter(0, 250);
    expect(batch.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 301));
    expect((await reopened.status()).unreadable).toBe(300);
    await reopened.close();
  });

  it('an empty CURRENT file: LevelDB repair restores the queue whole, and says so', async () => {
    await storeRecords();
    await writeFile(join(dir, 'queue', 'CURRENT'), '');
    const queue = await Queue.open(dir, { ...quiet, logger: logger() });
    const records = await drain(queue);
    const status = await queue.status();
    expect(records).toHaveLength(TOTAL);
    expect(status.corruption).toMatchObject({ action: 'repaired', movedTo: null });
    expect(status.corruption!.reason).toMatch(/CURRENT/);
    expect((await queue.append(makeTelegram(TOTAL))).seq).toBe(TOTAL + 1);
    await queue.close();
    expect(logLines.join('')).toContain('trying LevelDB repair');
  });

  it('a garbled CURRENT file: repaired the same way', async () => {
    await storeRecords();
    await writeFile(join(dir, 'queue', 'CURRENT'), 'MANIFEST-99999\n');
    const queue = await Queue.open(dir, quiet);
    expect(await drain(queue)).toHaveLength(TOTAL);
    expect((await queue.status()).corruption?.action).toBe('repaired');
    await queue.close();
  });

  it('a torn tail of the write-ahead log (power cut mid-write): the whole records before it are kept, seqs go on', async () => {
    const queue = await Queue.open(dir, quiet);
    for (let i = 0; i < 20; i++) await queue.append(makeTelegram(i));
    await queue.close();
    const [log] = (await readdir(join(dir, 'queue'))).filter((f) => f.endsWith('.log'));
    const path = join(dir, 'queue', log!);
    await truncate(path, (await stat(path)).size - 100);
    const reopened = await Queue.open(dir, quiet);
    const records = await reopened.readAfter(0, 100);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    expect((await reopened.append(makeTelegram(99))).seq).toBe(20);
    await reopened.close();
  });

  it('a table file gone missing: repaired, the records it held counted as unreadable', async () => {
    await storeRecords();
    const all = await tables();
    await rm(all[all.length - 1]!);
    const queue = await Queue.open(dir, { ...quiet, logger: logger() });
    const records = await drain(queue);
    const status = await queue.status();
    await queue.close();
    expect(status.corruption?.action).toBe('repaired');
    expect(records.length).toBeLessThan(TOTAL);
    expect(records.length + status.unreadable).toBeGreaterThanOrEqual(TOTAL - 1);
  });

  it('damage repair cannot mend (a garbled counter): the queue is moved aside, a new one stores, status says so', async () => {
    await storeRecords();
    const db = new Level<string, string>(join(dir, 'queue'), { valueEncoding: 'utf8' });
    await db.put('meta/floor', '"garbage"');
    await db.close();
    const queue = await Queue.open(dir, { ...quiet, logger: logger() });
    const status = await queue.status();
    expect(status.corruption).toMatchObject({ action: 'movedAside' });
    expect(status.corruption!.movedTo).toMatch(/queue\.corrupt-\d{4}-/);
    expect(status.corruptCopies).toEqual([status.corruption!.movedTo]);
    expect((await queue.append(makeTelegram(1))).seq).toBe(1);
    await queue.close();
    // The damaged queue is kept whole for a human to look at.
    expect(await readFile(join(status.corruption!.movedTo!, 'CURRENT'), 'utf8')).toMatch(/^MANIFEST-/);
    expect(logLines.join('')).toContain('moved aside');
  });

  it('read-only opening (status, export) of a damaged queue changes nothing and names the repair command', async () => {
    await storeRecords();
    await writeFile(join(dir, 'queue', 'CURRENT'), '');
    const error: unknown = await Queue.open(dir, { readOnly: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'P1_QUEUE_CORRUPT' });
    expect((error as Error).message).toContain('p1logger repair --data-dir');
    expect(await readFile(join(dir, 'queue', 'CURRENT'), 'utf8')).toBe('');
  });
});
