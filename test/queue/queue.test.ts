import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { Queue, type QueueOptions } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { makeTelegram, makeTempDir } from './helpers.js';
import { rm } from 'node:fs/promises';

/** No background timers and no reserve file unless a test asks: each test drives retention itself. */
const quiet: QueueOptions = { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 };

let dir: string;
const open: Queue[] = [];

async function openQueue(options: QueueOptions = {}): Promise<Queue> {
  const queue = await Queue.open(dir, { ...quiet, ...options });
  open.push(queue);
  return queue;
}

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  for (const queue of open.splice(0)) await queue.close();
  await rm(dir, { recursive: true, force: true });
});

async function appendMany(queue: Queue, from: number, count: number, at?: (i: number) => Date): Promise<QueueRecord[]> {
  const appends: Array<Promise<QueueRecord>> = [];
  for (let i = from; i < from + count; i++) appends.push(queue.append(makeTelegram(i), at?.(i)));
  return Promise.all(appends);
}

async function allRecords(queue: Queue): Promise<QueueRecord[]> {
  return queue.readAfter(0, Number.MAX_SAFE_INTEGER);
}

describe('append and read', () => {
  it('stores the raw text exactly, with consecutive seqs that keep increasing across restarts', async () => {
    let queue = await openQueue();
    const raw = 'latin1 \xff\xe9\x00\r\n' + makeTelegram(1);
    const first = await queue.append(raw, new Date('2024-05-01T10:00:00Z'));
    expect(first).toEqual({ seq: 1, receivedAt: '2024-05-01T10:00:00.000Z', protocol: 'dsmr', raw });
    await appendMany(queue, 2, 9);
    await queue.close();

    queue = await openQueue();
    const more = await appendMany(queue, 11, 5);
    expect(more.map((r) => r.seq)).toEqual([11, 12, 13, 14, 15]);
    const records = await allRecords(queue);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(records[0]!.raw).toBe(raw);
    expect(Buffer.from(records[0]!.raw, 'latin1')).toEqual(Buffer.from(raw, 'latin1'));
  });

  it('never hands a reader a record whose append has not completed, so an ack of it is always valid', async () => {
    const queue = await openQueue();
    for (let i = 0; i < 1000; i++) {
      let stored = false;
      const appended = queue.append(makeTelegram(i)).then((record) => {
        stored = true;
        return record;
      });
      // Several readers polling at once widen the window in which LevelDB shows a batch its caller has not yet seen.
      const poll = async (): Promise<void> => {
        for (;;) {
          const [seen] = await queue.readAfter(i, 1);
          if (seen !== undefined) {
            expect(stored).toBe(true);
            await queue.ack('sink', seen.seq);
            return;
          }
          await new Promise((r) => setImmediate(r));
        }
      };
      await Promise.all([poll(), poll(), poll(), poll()]);
      expect((await appended).seq).toBe(i + 1);
    }
  });

  it('reads after a seq in batches of the asked size, in order', async () => {
    const queue = await openQueue();
    await appendMany(queue, 0, 25);
    const seen: number[] = [];
    for (let after = 0; ; ) {
      const batch = await queue.readAfter(after, 10);
      if (batch.length === 0) break;
      expect(batch.length).toBeLessThanOrEqual(10);
      seen.push(...batch.map((r) => r.seq));
      after = batch[batch.length - 1]!.seq;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('reads a receive-time range [from, to) page by page', async () => {
    const queue = await openQueue();
    const base = Date.parse('2024-03-01T00:00:00Z');
    await appendMany(queue, 0, 20, (i) => new Date(base + i * 60_000));
    const from = new Date(base + 5 * 60_000);
    const to = new Date(base + 15 * 60_000);
    const page1 = await queue.readRange({ from, to, limit: 4 });
    const page2 = await queue.readRange({ from, to, limit: 100, afterSeq: page1[page1.length - 1]!.seq });
    expect([...page1, ...page2].map((r) => r.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('refuses work after close with P1_QUEUE_CLOSED', async () => {
    const queue = await openQueue();
    await queue.close();
    await expect(queue.append('x')).rejects.toMatchObject({ code: 'P1_QUEUE_CLOSED' });
    await expect(queue.readAfter(0, 1)).rejects.toMatchObject({ code: 'P1_QUEUE_CLOSED' });
  });
});

describe('durability', () => {
  it('grouped mode resolves appends after one fsynced group write, and close writes what still waits', async () => {
    let queue = await openQueue({ durability: 'grouped', groupIntervalMs: 200 });
    const started = Date.now();
    const stored = await appendMany(queue, 0, 30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const late = queue.append(makeTelegram(99));
    await queue.close();
    await expect(late).resolves.toMatchObject({ seq: 31 });
    queue = await openQueue();
    expect((await allRecords(queue)).map((r) => r.seq)).toHaveLength(31);
  });

  it('grouped mode writes a full group at once: a fast source is not held to one group per interval', async () => {
    // An interval far longer than the test: only a group that filled up can resolve its appends.
    const queue = await openQueue({ durability: 'grouped', groupIntervalMs: 3_600_000 });
    const stored = await Promise.all(Array.from({ length: 300 }, (_, i) => queue.append(makeTelegram(i + 1))));
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // A group that is not full waits for its interval (or a flush, as on shutdown).
    const few = Array.from({ length: 10 }, (_, i) => queue.append(makeTelegram(301 + i)));
    let settled = false;
    void Promise.all(few).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await queue.flush();
    expect((await Promise.all(few)).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 301 + i));
    await queue.close();
  });
});

describe('cursors', () => {
  it('persist across restarts and never move backwards', async () => {
    let queue = await openQueue();
    await appendMany(queue, 0, 10);
    expect(await queue.cursor('influx')).toBe(0);
    await queue.ack('influx', 7);
    await queue.ack('influx', 3);
    expect(await queue.cursor('influx')).toBe(7);
    await queue.close();

    queue = await openQueue();
    expect(await queue.cursor('influx')).toBe(7);
    expect((await queue.readAfter(await queue.cursor('influx'), 100)).map((r) => r.seq)).toEqual([8, 9, 10]);
    await expect(queue.ack('influx', 11)).rejects.toMatchObject({ code: 'P1_USAGE' });
  });

  it('two sinks at different speeds keep independent cursors and each gets every record once, in order', async () => {
    const queue = await openQueue();
    const total = 300;
    let producing = true;
    const producer = (async () => {
      for (let i = 0; i < total; i += 10) {
        await appendMany(queue, i, 10);
        await new Promise((r) => setTimeout(r, 2));
      }
      producing = false;
    })();
    const drain = async (sink: string, batchSize: number, delayMs: number): Promise<number[]> => {
      const got: number[] = [];
      for (;;) {
        const batch = await queue.readAfter(await queue.cursor(sink), batchSize);
        if (batch.length === 0) {
          if (!producing) return got;
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        got.push(...batch.map((r) => r.seq));
        await new Promise((r) => setTimeout(r, delayMs));
        await queue.ack(sink, batch[batch.length - 1]!.seq);
      }
    };
    const slowUntilHalf = (async () => {
      // The slow sink stops half way: its cursor must stay where it is while the fast one finishes.
      const got: number[] = [];
      while (got.length < total / 2) {
        const batch = await queue.readAfter(await queue.cursor('slow'), Math.min(7, total / 2 - got.length));
        if (batch.length === 0) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        got.push(...batch.map((r) => r.seq));
        await new Promise((r) => setTimeout(r, 15));
        await queue.ack('slow', batch[batch.length - 1]!.seq);
      }
      return got;
    })();
    const [fast, slow] = await Promise.all([drain('fast', 50, 0), slowUntilHalf, producer]);
    expect(fast).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(slow).toEqual(Array.from({ length: total / 2 }, (_, i) => i + 1));
    expect(await queue.cursor('fast')).toBe(total);
    expect(await queue.cursor('slow')).toBe(total / 2);
    const status = await queue.status();
    expect(status.sinks.map((s) => [s.sink, s.cursor, s.lag])).toEqual([
      ['fast', total, 0],
      ['slow', total / 2, total / 2],
    ]);
    expect(status.sinks[1]!.lagSeconds).toBeGreaterThanOrEqual(0);
  });
});

describe('dead letters', () => {
  it('keeps a refused record with its reason until unparked', async () => {
    let queue = await openQueue();
    const [record] = await appendMany(queue, 0, 1);
    await queue.park('influx', record!, '400 unable to parse');
    await queue.close();
    queue = await openQueue();
    const letters = await queue.deadLetters('influx');
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ sink: 'influx', seq: 1, reason: '400 unable to parse', record });
    expect(await queue.deadLetters('other')).toEqual([]);
    expect((await queue.status()).sinks).toContainEqual(expect.objectContaining({ sink: 'influx', deadLetters: 1 }));
    await queue.unpark('influx', 1);
    expect(await queue.deadLetters('influx')).toEqual([]);
  });
});

describe('retention', () => {
  it('removes records older than maxAge and counts, per sink, what it had not sent; persisted', async () => {
    let now = new Date('2024-06-01T00:00:00Z');
    let queue = await openQueue({ maxAgeMs: 24 * 3600_000, now: () => now });
    const day = 24 * 3600_000;
    // 10 records two days old, 10 half a day old.
    await appendMany(queue, 0, 10, () => new Date(now.getTime() - 2 * day));
    await appendMany(queue, 10, 10, () => new Date(now.getTime() - day / 2));
    await queue.cursor('ahead');
    await queue.ack('ahead', 15);
    await queue.ack('behind', 4);
    const [old] = await queue.readAfter(0, 1);
    await queue.park('behind', old!, 'bad');

    const result = await queue.enforceRetention();
    expect(result).toMatchObject({ age: 10, size: 0, space: 0, deadLetters: 1 });
    expect((await allRecords(queue)).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    await queue.close();

    now = new Date(now.getTime() + day);
    queue = await openQueue({ maxAgeMs: 24 * 3600_000, now: () => now });
    const status = await queue.status();
    expect(status.sinks.map((s) => [s.sink, s.dropped])).toEqual([
      ['ahead', 0],
      ['behind', 6],
    ]);
    // Everything is now older than a day: the log empties, but seqs never restart.
    expect((await queue.enforceRetention()).age).toBe(10);
    expect((await queue.status()).sinks.map((s) => [s.sink, s.dropped])).toEqual([
      ['ahead', 5],
      ['behind', 16],
    ]);
    expect(await queue.status()).toMatchObject({ records: 0, firstSeq: null, lastSeq: null });
    await queue.close();
    queue = await openQueue();
    expect((await queue.append('next')).seq).toBe(21);
  });

  it('keeps the files under maxBytes by removing the oldest records, keeping the newest', async () => {
    const maxBytes = 1024 * 1024;
    const queue = await openQueue({ maxBytes, writeBufferSize: 256 * 1024 });
    await queue.cursor('influx');
    let next = 0;
    // About 12 MB of telegrams (under 2 MB after LevelDB's compression), in appends of 500.
    while (next < 12_000) {
      await appendMany(queue, next, 500);
      next += 500;
    }
    const before = await queue.status();
    expect(before.bytesOnDisk).toBeGreaterThan(maxBytes);
    const result = await queue.enforceRetention();
    expect(result.size).toBeGreaterThan(0);
    const after = await queue.status();
    expect(after.bytesOnDisk).toBeLessThanOrEqual(maxBytes);
    expect(after.lastSeq).toBe(12_000);
    expect(after.firstSeq).toBe(result.size + 1);
    expect(after.sinks[0]).toMatchObject({ sink: 'influx', dropped: result.size, lag: 12_000 - result.size });
    const newest = await queue.readAfter(11_990, 100);
    expect(newest.map((r) => r.raw)).toEqual(Array.from({ length: 10 }, (_, i) => makeTelegram(11_990 + i)));
  });
});

describe('reserve file', () => {
  it('is created with real bytes when the disk has room', async () => {
    const queue = await openQueue({ reserveBytes: 256 * 1024 });
    const info = await stat(join(dir, 'reserve'));
    expect(info.size).toBe(256 * 1024);
    expect(info.blocks * 512).toBeGreaterThanOrEqual(256 * 1024);
    expect((await queue.status()).reserveBytes).toBe(256 * 1024);
    expect(await readdir(join(dir, 'queue'))).toContain('LOCK');
  });
});

describe('opening', () => {
  it('refuses a second open of the same data directory with P1_QUEUE_LOCKED naming the lock', async () => {
    await openQueue();
    const error: unknown = await Queue.open(dir, quiet).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_QUEUE_LOCKED')).toBe(true);
    expect((error as Error).message).toContain(join(dir, 'queue', 'LOCK'));
  });

  it('reports P1_QUEUE_NOT_WRITABLE naming the path when the data directory cannot be created', async () => {
    const { writeFile } = await import('node:fs/promises');
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    for (const target of [join(file, 'data'), file]) {
      const error: unknown = await Queue.open(target, quiet).catch((e: unknown) => e);
      expect(isP1Error(error, 'P1_QUEUE_NOT_WRITABLE')).toBe(true);
      expect((error as Error).message).toContain(target);
    }
  });

  it('read-only opening of a directory without a queue is P1_FILE_NOT_FOUND and creates nothing', async () => {
    const error: unknown = await Queue.open(join(dir, 'nothing'), { readOnly: true }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_FILE_NOT_FOUND')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});
