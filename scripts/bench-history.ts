/**
 * History figures (issue 11): rebuilding the history of 30 days of 1 s telegrams (2.6 million, target < 60 s), the
 * size of a year of hourly rows on disk, and the time the status server takes to answer the page's history
 * requests (a year of days, a month of hours, two years of months). Usage:
 *   node --import tsx scripts/bench-history.ts [--days 30] [--dir DIR]
 * Filling the queue (the simulated meter makes some 10,000 telegrams/s) takes longer than the rebuild itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HOUR_MS } from '../src/history/buckets.js';
import { rebuildHistory } from '../src/history/rebuild.js';
import { HistoryRecorder } from '../src/history/recorder.js';
import { HistoryStore } from '../src/history/store.js';
import { createStatusServer } from '../src/http/server.js';
import { silentLogger } from '../src/log.js';
import { directorySize } from '../src/queue/disk.js';
import { Queue } from '../src/queue/queue.js';
import { VirtualMeter } from '../src/sources/virtual-meter.js';

const { values } = parseArgs({ options: { days: { type: 'string', default: '30' }, dir: { type: 'string' } } });
const DAYS = Number(values.days);
const TZ = 'Europe/Amsterdam';
const base = await mkdtemp(join(values.dir ?? tmpdir(), 'p1bench-history-'));
const START = Date.parse('2025-03-01T00:00:00.5+01:00');

try {
  // 1. A queue of DAYS days of DSMR 5 telegrams, one per second.
  const queue = await Queue.open(join(base, 'a'), { durability: 'grouped', groupIntervalMs: 50, retentionIntervalMs: 0, reserveBytes: 0, maxAgeMs: 0, maxBytes: 0 });
  const meter = new VirtualMeter({ dsmr: '5', startMs: START });
  const count = DAYS * 86_400;
  let t0 = performance.now();
  for (let i = 0; i < count; i += 2000) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 2000); j++) batch.push(queue.append(meter.telegramAt(START + j * 1000), new Date(START + j * 1000)));
    await Promise.all(batch);
  }
  console.log(`filled the queue: ${count.toLocaleString('en')} telegrams in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${((await directorySize(queue.dbDir)) / 1e9).toFixed(2)} GB`);

  // 2. The rebuild.
  const store = new HistoryStore(queue, TZ);
  t0 = performance.now();
  const rss0 = process.memoryUsage.rss();
  const result = await rebuildHistory({ queue, store, timeZone: TZ });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `rebuild: ${result.telegrams.toLocaleString('en')} telegrams in ${seconds.toFixed(1)} s (${Math.round(result.telegrams / seconds).toLocaleString('en')}/s), ` +
      `${result.hours} hours; RSS ${(rss0 / 1e6).toFixed(0)} -> ${(process.memoryUsage.rss() / 1e6).toFixed(0)} MB; target < 60 s: ${seconds < 60 ? 'met' : 'NOT met'}`,
  );
  const hours = await store.rows('hour', 0, Date.parse('2100-01-01'));
  await queue.close();

  // 3. A year of hourly rows (the rebuilt ones repeated) in a database of its own: its size on disk.
  const year = await Queue.open(join(base, 'b'), { retentionIntervalMs: 0, reserveBytes: 0 });
  const yearStore = new HistoryStore(year, TZ);
  const first = hours[0]!.start;
  const yearHours = [];
  for (let h = 0; h < 8760; h++) {
    const row = hours[h % hours.length]!;
    yearHours.push({ ...row, start: first + h * HOUR_MS, end: first + (h + 1) * HOUR_MS });
  }
  for (let i = 0; i < yearHours.length; i += 744) await yearStore.write(yearHours.slice(i, i + 744), undefined);
  await year.close();
  const reopened = await Queue.open(join(base, 'b'), { retentionIntervalMs: 0, reserveBytes: 0 });
  console.log(`a year of hourly rows (8,760 hours and their 365 days): ${((await directorySize(reopened.dbDir)) / 1e6).toFixed(2)} MB on disk (LevelDB, compressed)`);

  // 4. The page's history requests, answered by the status server over that year.
  const recorder = await new HistoryRecorder({ queue: reopened, timeZone: TZ, logger: silentLogger(), readOnly: true }).open();
  const server = await createStatusServer({ listen: '127.0.0.1:0', status: () => { throw new Error('not asked'); }, aggregates: { source: recorder }, timeZone: TZ, now: () => first + 8760 * HOUR_MS - 1 });
  const iso = (ms: number): string => encodeURIComponent(new Date(ms).toISOString());
  const end = first + 8760 * HOUR_MS;
  const requests: Array<[string, string]> = [
    ['a year of days', `resolution=day&from=${iso(first)}&to=${iso(end)}`],
    ['a month of hours', `resolution=hour&from=${iso(end - 31 * 24 * HOUR_MS)}&to=${iso(end)}`],
    ['two years of months', `resolution=month&from=${iso(end - 730 * 24 * HOUR_MS)}&to=${iso(end)}`],
  ];
  for (const [name, query] of requests) {
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const res = await fetch(`${server.url}/api/history?${query}`);
      size = (await res.arrayBuffer()).byteLength;
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    console.log(`/api/history, ${name}: best ${times[0]!.toFixed(0)} ms, median ${times[2]!.toFixed(0)} ms, ${(size / 1024).toFixed(0)} KiB`);
  }
  await server.close();
  await reopened.close();
} finally {
  await rm(base, { recursive: true, force: true });
}
