/**
 * Queue figures (issue 4): appends per second and per-append latency with `sync` and `grouped` durability, and
 * the bytes written to the storage device per telegram at the meter's pace (1 telegram/s), projected to MB/day
 * for an SD card. Usage: node --import tsx scripts/bench-queue.ts [--dir DIR] [--appends N]
 *
 * Device bytes come from /proc/self/io `write_bytes`: what this process (all its threads, LevelDB's compaction
 * thread included) made the kernel send to the block layer, counted per page when a page gets dirty. Not
 * included: the filesystem's own journal (ext4 commits a few blocks per fsync, written by the jbd2 thread); the
 * device line below shows everything written to the disk meanwhile, by every process.
 *
 * Time is compressed for the 10-minute run: 600 telegrams are appended back to back and the grouped mode's
 * timer is replaced by calling flush() every N telegrams (what the timer does every N seconds at 1 telegram/s).
 * Page-cache accounting does not depend on wall time; the one thing compression hides is the kernel's
 * background writeback of dirty pages older than 30 s, which never comes first while the group interval is
 * under 30 s. LevelDB writes its memtable (4 MiB) to a table only when it is full, which takes longer than 10
 * minutes at 1 telegram/s: those table writes and the compactions that follow are measured over one simulated
 * day (86,400 telegrams written fast), from LevelDB's own LOG, and added to the projection.
 */
import { mkdtemp, readFile, rm, statfs, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from '../src/queue/queue.js';
import { simulatedTelegrams } from '../src/sources/simulator.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, appends: { type: 'string', default: '2000' } } });
const base = values.dir ?? tmpdir();
const appendsForLatency = Number(values.appends);
const DAY = 86_400;
const TMPFS_MAGIC = 0x01021994;

async function telegrams(count: number): Promise<string[]> {
  const out: string[] = [];
  const signal = new AbortController().signal;
  for await (const t of simulatedTelegrams({ dsmr: '5', intervalS: 1, fast: true, count, seed: 1, startMs: Date.UTC(2025, 0, 1) }, signal)) out.push(t);
  return out;
}

async function writeBytes(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? NaN);
}

/** Sectors written to the device holding `dir`, by everyone (/proc/diskstats field 10), in bytes. */
async function deviceBytes(dir: string): Promise<number | null> {
  const dev = (await stat(dir)).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const line = (await readFile('/proc/diskstats', 'utf8')).split('\n').find((l) => {
    const f = l.trim().split(/\s+/);
    return Number(f[0]) === major && Number(f[1]) === minor;
  });
  const sectors = line?.trim().split(/\s+/)[9];
  return sectors === undefined ? null : Number(sectors) * 512;
}

async function withQueue<T>(options: Parameters<typeof Queue.open>[1], fn: (queue: Queue, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(base, 'p1logger-bench-'));
  const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0, ...options });
  try {
    return await fn(queue, dir);
  } finally {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const sample = await telegrams(Math.max(appendsForLatency, 20_000));
const rawBytes = sample.slice(0, 600).reduce((n, t) => n + t.length, 0) / 600;
const fs = await statfs(base);
console.log(`queue benchmark in ${base} (${fs.type === TMPFS_MAGIC ? 'tmpfs: nothing reaches a device, use --dir on the SD card' : `filesystem type 0x${fs.type.toString(16)}`}), node ${process.version}`);
console.log(`telegram: simulated DSMR 5, ${fmt(rawBytes)} bytes on average\n`);

// --- Throughput and latency -------------------------------------------------------------------------------
console.log('throughput');
await withQueue({ durability: 'sync' }, async (queue) => {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < appendsForLatency; i++) {
    const t = performance.now();
    await queue.append(sample[i]!);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `  sync, one append at a time (fsync each)   ${fmt(appendsForLatency / seconds).padStart(8)} appends/s   p50 ${fmt(percentile(latencies, 50), 2)} ms   p99 ${fmt(percentile(latencies, 99), 2)} ms   (target p99 < 2 ms: ${percentile(latencies, 99) < 2 ? 'met' : 'NOT met'})`,
  );
});
await withQueue({ durability: 'sync' }, async (queue) => {
  const n = 20_000;
  const start = performance.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    inFlight.push(queue.append(sample[i]!));
    if (inFlight.length >= 64) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  console.log(`  sync, 64 appends in flight (shared fsync) ${fmt(n / ((performance.now() - start) / 1000)).padStart(8)} appends/s`);
});
await withQueue({ durability: 'grouped', groupIntervalMs: 1000 }, async (queue) => {
  const n = 20_000;
  const start = performance.now();
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    pending.push(queue.append(sample[i]!));
    if (pending.length >= 1000) {
      await queue.flush();
      await Promise.all(pending.splice(0));
    }
  }
  await queue.flush();
  await Promise.all(pending);
  console.log(`  grouped, written 1000 at a time          ${fmt(n / ((performance.now() - start) / 1000)).padStart(8)} appends/s   (an append resolves when its group is written: up to syncIntervalMs)`);
});

// --- LevelDB table writes over a day -----------------------------------------------------------------------
const day = await telegrams(DAY);
const tableBytesPerTelegram = await withQueue({ durability: 'grouped', groupIntervalMs: 3_600_000 }, async (queue, dir) => {
  for (let i = 0; i < DAY; i += 600) {
    for (const t of day.slice(i, i + 600)) void queue.append(t);
    await queue.flush();
  }
  // LevelDB logs every table it writes: "Level-0 table #N: B bytes OK" (memtable flush), "... => B bytes" (compaction).
  await new Promise((r) => setTimeout(r, 500));
  const log = await readFile(join(dir, 'queue', 'LOG'), 'utf8');
  let bytes = 0;
  for (const m of log.matchAll(/Level-0 table #\d+: (\d+) bytes OK/g)) bytes += Number(m[1]);
  for (const m of log.matchAll(/Compacted .* => (\d+) bytes/g)) bytes += Number(m[1]);
  return bytes / DAY;
});
console.log(`\nLevelDB tables (memtable flushes and compactions, snappy-compressed) for one day of telegrams: ${fmt(tableBytesPerTelegram)} bytes per telegram`);

// --- Device writes at 1 telegram/s ------------------------------------------------------------------------
console.log('\ndevice writes at 1 telegram/s over 10 simulated minutes (600 telegrams), /proc/self/io write_bytes');
console.log('  mode                       per telegram   x raw   log MB/day   + tables   = MB/day    device, all processes');
const minutes = sample.slice(0, 600);
for (const group of [0, 1, 5, 10, 30]) {
  const label = group === 0 ? 'sync (fsync per telegram)' : `grouped, fsync every ${group} s`;
  const { bytes, device } = await withQueue(group === 0 ? { durability: 'sync' } : { durability: 'grouped', groupIntervalMs: 3_600_000 }, async (queue, dir) => {
    const before = await writeBytes();
    const deviceBefore = await deviceBytes(dir);
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < minutes.length; i++) {
      if (group === 0) await queue.append(minutes[i]!);
      else {
        pending.push(queue.append(minutes[i]!));
        // The group timer, in simulated seconds: one telegram per second.
        if ((i + 1) % group === 0) await queue.flush();
      }
    }
    await queue.flush();
    await Promise.all(pending);
    const after = await writeBytes();
    const deviceAfter = await deviceBytes(dir);
    return { bytes: (after - before) / minutes.length, device: deviceBefore === null || deviceAfter === null ? null : (deviceAfter - deviceBefore) / minutes.length };
  });
  const logPerDay = (bytes * DAY) / 1e6;
  const total = ((bytes + tableBytesPerTelegram) * DAY) / 1e6;
  console.log(
    `  ${label.padEnd(26)} ${fmt(bytes).padStart(8)} B    ${fmt(bytes / rawBytes, 1).padStart(5)}   ${fmt(logPerDay, 1).padStart(9)}   ${fmt((tableBytesPerTelegram * DAY) / 1e6, 1).padStart(7)}   ${fmt(total, 1).padStart(7)}    ${device === null ? 'n/a' : `${fmt(device)} B/telegram`}`,
  );
}
console.log(`\nraw telegrams: ${fmt((rawBytes * DAY) / 1e6, 1)} MB/day. Target for grouped mode: under 2x raw.`);
