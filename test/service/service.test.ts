import { afterEach, beforeEach, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../src/log.js';
import { Queue } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { Service } from '../../src/service/service.js';
import type { ByteSource, SourceStats } from '../../src/sources/source.js';
import { makeTelegram, makeTempDir } from '../queue/helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes as a meter line would deliver them, in awkward chunks; then silence until aborted. */
function chunkSource(bytes: Buffer, chunkSize: number, endAfter: boolean): ByteSource {
  const stats: SourceStats = { state: 'open', reconnects: 0, bytes: 0 };
  return {
    description: 'test bytes',
    stats,
    async *read(signal: AbortSignal) {
      for (let i = 0; i < bytes.length; i += chunkSize) {
        await new Promise((r) => setImmediate(r));
        yield bytes.subarray(i, i + chunkSize);
      }
      if (endAfter) return;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    },
  };
}

it('stores good telegrams in order and counts CRC errors, truncated telegrams and junk', async () => {
  const good = [makeTelegram(1), makeTelegram(2), makeTelegram(3)];
  const badCrc = makeTelegram(4).replace('*kWh', '*kWH');
  const truncated = makeTelegram(5).slice(0, 200);
  const stream = Buffer.from(`junk${good[0]}${badCrc}${truncated}${good[1]}\r\nmore junk${good[2]}`, 'latin1');
  const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0 });
  const stored: QueueRecord[] = [];
  const service = new Service({ source: chunkSource(stream, 37, true), queue, logger: silentLogger(), onStored: (r) => stored.push(r) });
  await service.start();
  await service.finished;
  expect(stored.map((r) => [r.seq, r.raw])).toEqual(good.map((raw, i) => [i + 1, raw]));
  expect(service.counters).toMatchObject({ telegrams: 3, stored: 3, storeFailed: 0, crcErrors: 1, truncated: 1, lastStoredSeq: 3 });
  expect(service.counters.junkBytes).toBe('junk'.length + '\r\nmore junk'.length);
  await service.stop();
  const reopened = await Queue.open(dir, { readOnly: true });
  expect((await reopened.readAfter(0, 10)).map((r) => r.raw)).toEqual(good);
  await reopened.close();
});

it('stop() stops reading, stops components in reverse order after acquisition, then closes the queue', async () => {
  const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, durability: 'grouped', groupIntervalMs: 60_000 });
  const events: string[] = [];
  const component = (name: string) => ({
    name,
    start: () => void events.push(`start ${name}`),
    stop: async () => {
      // The queue is still open for a component stopping (an uploader acking its last batch).
      events.push(`stop ${name} (queue has ${(await queue.status()).records})`);
    },
  });
  const service = new Service({ source: chunkSource(Buffer.from(makeTelegram(1) + makeTelegram(2), 'latin1'), 100, false), queue, logger: silentLogger() });
  service.add(component('uploader')).add(component('http'));
  await service.start();
  while (service.counters.telegrams < 2) await new Promise((r) => setTimeout(r, 5));
  // Grouped mode with a long interval: the two appends still wait; stop must write them, not drop them.
  expect(service.counters.stored).toBe(0);
  await service.stop();
  expect(service.counters.stored).toBe(2);
  expect(events).toEqual(['start uploader', 'start http', 'stop http (queue has 2)', 'stop uploader (queue has 2)']);
  await expect(queue.append('x')).rejects.toMatchObject({ code: 'P1_QUEUE_CLOSED' });
});

it('a queue that refuses every telegram is logged once and then summarised, not once per telegram', async () => {
  const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0 });
  const lines: Array<{ msg: string; repeats?: number; lost?: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  const telegrams = Array.from({ length: 250 }, (_, i) => makeTelegram(i + 1)).join('');
  const service = new Service({ source: chunkSource(Buffer.from(telegrams, 'latin1'), 4096, true), queue, logger: createLogger({ level: 'error', destination }) });
  // A closed database refuses every append, as a full disk does until room is made.
  await queue.close();
  await service.start();
  await service.finished;
  await service.stop().catch(() => undefined);
  expect(service.counters).toMatchObject({ telegrams: 250, stored: 0, storeFailed: 250 });
  const notStored = lines.filter((l) => l.msg.startsWith('telegram not stored'));
  // The first in full, the other 249 in the summary written when the service stops.
  expect(notStored).toHaveLength(2);
  expect(notStored[0]).toMatchObject({ lost: 1 });
  expect(notStored[1]).toMatchObject({ repeats: 249, lost: 250 });
});
