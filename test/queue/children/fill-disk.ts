/**
 * Run by disk-full.test.ts inside a private mount namespace whose data directory is a small tmpfs: appends until
 * the filesystem is really full (ENOSPC from LevelDB), and keeps appending. Prints one JSON summary line.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from '../../../src/queue/queue.js';

const dataDir = process.argv[2]!;
const options = { reserveBytes: 1024 * 1024, minFreeBytes: 0, maxBytes: 0, retentionIntervalMs: 0, writeBufferSize: 128 * 1024 };
const queue = await Queue.open(dataDir, { ...options, ...(process.env.DEBUG_FILL ? { logger: (await import('../../../src/log.js')).createLogger({ level: 'debug', destination: process.stderr }) } : {}) });
await queue.cursor('influx');

const record = (i: number): string => `/telegram ${i}\r\n${randomBytes(1500).toString('latin1')}!\r\n`;
let diskFull = 0;
let otherErrors = 0;
let storedAfterFirstFull = 0;
let lastStored = { seq: 0, raw: '' };
for (let i = 0; i < 60_000 && storedAfterFirstFull < 1500; i++) {
  const raw = record(i);
  try {
    const stored = await queue.append(raw);
    lastStored = { seq: stored.seq, raw };
    if (diskFull > 0) storedAfterFirstFull++;
  } catch (error) {
    if ((error as { code?: string }).code === 'P1_QUEUE_DISK_FULL') diskFull++;
    else otherErrors++;
    // The queue reopens in the background; appends are refused until it has.
    while ((await queue.status()).state !== 'up') await new Promise((r) => setTimeout(r, 20));
  }
}
const all = await queue.readAfter(0, Number.MAX_SAFE_INTEGER);
const status = await queue.status();
await queue.close();
const reopened = await Queue.open(dataDir, options);
const afterReopen = await reopened.append(record(-1));
await reopened.close();
process.stdout.write(
  JSON.stringify({
    diskFull,
    otherErrors,
    storedAfterFirstFull,
    contiguous: all.every((r, k) => r.seq === all[0]!.seq + k),
    firstSeq: status.firstSeq,
    lastSeq: status.lastSeq,
    newestKept: all[all.length - 1]?.seq === lastStored.seq && all[all.length - 1]?.raw === lastStored.raw,
    dropped: status.sinks.find((s) => s.sink === 'influx')?.dropped,
    state: status.state,
    seqAfterReopen: afterReopen.seq,
  }) + '\n',
);
