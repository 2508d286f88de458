/**
 * Run by disk-full.test.ts inside a private mount namespace, with the data directory on a small real filesystem
 * (tmpfs or a loop-mounted ext4 image) that the test made. The service runs with the queue's default settings (the
 * reserve and the free-space floor scale to the filesystem). Once it holds some MB, another file (a runaway log, say)
 * takes every free byte, three times over: each time the queue meets a full disk, the file takes what it freed.
 * Then the file goes and more telegrams come. Prints one JSON summary line.
 *
 *   fill-disk.ts DATA_DIR
 */
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { Queue } from '../../../src/queue/queue.js';
import { Service } from '../../../src/service/service.js';
import { crc16OfText, formatCrc } from '../../../src/telegram/crc16.js';
import { pushSource } from '../helpers.js';

const dataDir = process.argv[2]!;
const filler = join(dataDir, '..', 'filler');
const logger = createLogger({ level: process.env.DEBUG_FILL ? 'debug' : 'fatal', destination: process.stderr });

/** A valid telegram of some 2 KB that compresses to about half (random hex in its text message). */
function telegram(i: number): string {
  const body = `/TST5 telegram ${i}\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.13.0(${randomBytes(1000).toString('hex').toUpperCase()})\r\n!`;
  return `${body}${formatCrc(crc16OfText(body))}\r\n`;
}

const meter = pushSource();

const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, logger });
const storedRaws: string[] = [];
const service = new Service({ source: meter.source, queue, logger, onStored: (r) => storedRaws.push(r.raw) });
await queue.cursor('influx');
await service.start();
let serviceFailed = false;
service.finished.catch(() => (serviceFailed = true));
const atStart = await queue.status();

let fed = 0;
const fedRaws: string[] = [];
async function feed(count: number): Promise<void> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const raw = telegram(fed++);
    fedRaws.push(raw);
    chunks.push(Buffer.from(raw, 'latin1'));
  }
  meter.push(chunks);
  while (service.counters.stored + service.counters.storeFailed < fed) await new Promise((r) => setTimeout(r, 5));
}

/** The other file grows until the filesystem refuses it. */
async function fillTheDisk(): Promise<void> {
  const handle = await open(filler, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

// Some 8 MB in the queue first.
while ((await queue.status()).bytesOnDisk < 8 * 1024 * 1024) await feed(500);
const beforeFull = await queue.status();
for (let round = 1; round <= 3; round++) {
  await fillTheDisk();
  while ((await queue.status()).diskFull < round && fed < 100_000) await feed(50);
}
// One more full disk in the middle of the last batch: every one of its telegrams must be stored all the same.
await fillTheDisk();
await feed(200);
const whileFull = await queue.status();

// Space returns: the reserve comes back at the next retention pass, and nothing more is dropped.
await rm(filler);
await queue.enforceRetention();
const afterSpace = await queue.status();
await feed(500);
const end = await queue.status();
const records = await queue.readAfter(0, Number.MAX_SAFE_INTEGER);
await service.stop();

const reopened = await Queue.open(dataDir, { retentionIntervalMs: 0 });
const afterReopen = await reopened.append(telegram(-1));
const reopenedStatus = await reopened.status();
await reopened.close();

const influx = (s: typeof end): number => s.sinks.find((x) => x.sink === 'influx')?.dropped ?? -1;
process.stdout.write(
  JSON.stringify({
    serviceFailed,
    reserveAtStart: atStart.reserveBytes,
    fed,
    storeFailed: service.counters.storeFailed,
    storedInOrder: storedRaws.length === fed && storedRaws.every((raw, i) => raw === fedRaws[i]),
    diskFull: whileFull.diskFull,
    recordsBeforeFull: beforeFull.records,
    bytesPerRecord: beforeFull.bytesOnDisk / beforeFull.records,
    reserveTargetBytes: beforeFull.reserveTargetBytes,
    minFreeBytes: beforeFull.minFreeBytes,
    recordsWhileFull: whileFull.records,
    droppedWhileFull: influx(whileFull),
    reserveAfterSpace: afterSpace.reserveBytes,
    droppedAfterSpace: influx(end) - influx(afterSpace),
    firstSeq: end.firstSeq,
    lastSeq: end.lastSeq,
    contiguous: records.every((r, k) => r.seq === records[0]!.seq + k),
    survivorsAreTheNewest: records.every((r) => r.raw === fedRaws[r.seq - 1]),
    dropped: influx(end),
    droppedByReason: end.sinks.find((x) => x.sink === 'influx')?.droppedByReason,
    state: end.state,
    seqAfterReopen: afterReopen.seq,
    reopenedRecords: reopenedStatus.records,
  }) + '\n',
);
