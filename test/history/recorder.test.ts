import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../src/history/recorder.js';
import type { HistoryRow } from '../../src/history/row.js';
import { silentLogger } from '../../src/log.js';
import { Queue } from '../../src/queue/queue.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';

const TZ = 'Europe/Amsterdam';
const DAY = 86_400_000;
/** Two days and a bit, across the night clocks go back (26 October 2025), one telegram every 30 s. */
const START = Date.parse('2025-10-25T00:00:00+02:00');
const STEP = 30_000;
/** Telegrams at 10 s past each half minute: the one at midnight itself would close the day before. */
const OFFSET = 10_000;
const COUNT = (2 * DAY + 5 * 3600_000) / STEP;
const at = (from: number, i: number): number => from + OFFSET + i * STEP;

let dir: string;
let queue: Queue;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1history-'));
  queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, maxAgeMs: 0 });
});

afterEach(async () => {
  await queue.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Appends simulated telegrams received at their meter time; returns the records and the meter's exact counters. */
async function appendSimulated(q: Queue, from: number, count: number, seed = 1): Promise<{ records: QueueRecord[]; meter: VirtualMeter }> {
  const meter = new VirtualMeter({ dsmr: '5', startMs: from, seed });
  const records: QueueRecord[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) batch.push(q.append(meter.telegramAt(at(from, j)), new Date(at(from, j))));
    records.push(...(await Promise.all(batch)));
  }
  return { records, meter };
}

function recorder(q: Queue, extra: Partial<ConstructorParameters<typeof HistoryRecorder>[0]> = {}): HistoryRecorder {
  return new HistoryRecorder({ queue: q, timeZone: TZ, logger: silentLogger(), ...extra });
}

const everything = (r: HistoryRecorder, resolution: 'hour' | 'day' | 'month'): Promise<HistoryRow[]> => r.rows(resolution, 0, Date.parse('2100-01-01'));
const kwh = (rows: HistoryRow[]): number => rows.reduce((n, r) => n + r.importT1Wh + r.importT2Wh, 0);

describe('history recorder on a real LevelDB', () => {
  it('builds the same hours live (telegram by telegram) as a rebuild from the queue, and days from the hours', async () => {
    const live = recorder(queue);
    live.start();
    const meter = new VirtualMeter({ dsmr: '5', startMs: at(START, 0) });
    const first = meter.reading;
    // Appended together (they share fsyncs), announced one by one in seq order, as the service does.
    const telegrams = Array.from({ length: COUNT }, (_, i) => queue.append(meter.telegramAt(at(START, i)), new Date(at(START, i))));
    for (const record of await Promise.all(telegrams)) live.stored(record);
    await live.idle();
    const hours = await everything(live, 'hour');
    const days = await everything(live, 'day');
    await live.stop();

    // 25 hours on 26 October, the day clocks go back.
    const dayStarts = days.map((d) => new Date(d.start).toISOString());
    expect(dayStarts).toEqual(['2025-10-24T22:00:00.000Z', '2025-10-25T22:00:00.000Z', '2025-10-26T23:00:00.000Z']);
    expect(hours.filter((h) => h.start >= days[1]!.start && h.start < days[1]!.end)).toHaveLength(25);
    expect(days.map((d) => d.telegrams)).toEqual([24 * 120, 25 * 120, 4 * 120]);
    // The day equals the sum of its hours, and all of it the meter's own counter difference (to its Wh).
    for (const day of days) expect(kwh([day])).toBe(kwh(hours.filter((h) => h.start >= day.start && h.start < day.end)));
    const last = meter.reading;
    const counted = (t: number): number => Math.floor(t * 1000);
    expect(kwh(days)).toBe(counted(last.importT1) + counted(last.importT2) - counted(first.importT1) - counted(first.importT2));

    const rebuilt = recorder(queue);
    await rebuilt.open();
    await rebuilt.rebuild();
    expect(await everything(rebuilt, 'hour')).toEqual(hours);
    expect(await everything(rebuilt, 'day')).toEqual(days);
    await rebuilt.stop();
  });

  it('continues after a crash from its stored state and the queue: no telegram counted twice or lost', async () => {
    await appendSimulated(queue, START, COUNT);
    const reference = recorder(queue);
    await reference.open();
    const hours = await everything(reference, 'hour');
    await reference.stop();

    // A second data directory gets the same telegrams in two parts; the recorder of the first part is never stopped.
    const dir2 = await mkdtemp(join(tmpdir(), 'p1history-'));
    try {
      let q2 = await Queue.open(dir2, { retentionIntervalMs: 0, reserveBytes: 0, maxAgeMs: 0 });
      const all = await queue.readAfter(0, COUNT);
      const crashed = recorder(q2, { persistIntervalMs: 0 });
      crashed.start();
      for (const record of await Promise.all(all.slice(0, 4000).map((r) => q2.append(r.raw, new Date(r.receivedAt))))) crashed.stored(record);
      await crashed.idle();
      await Promise.all(all.slice(4000).map((r) => q2.append(r.raw, new Date(r.receivedAt))));
      await q2.close();
      q2 = await Queue.open(dir2, { retentionIntervalMs: 0, reserveBytes: 0, maxAgeMs: 0 });
      const resumed = recorder(q2);
      await resumed.open();
      expect(await everything(resumed, 'hour')).toEqual(hours);
      await resumed.stop();
      await q2.close();
    } finally {
      await rm(dir2, { recursive: true, force: true });
    }
  });

  it('keeps the hours the queue no longer holds when it rebuilds, and adds an older capture imported later', async () => {
    await appendSimulated(queue, START, COUNT);
    const r = recorder(queue);
    await r.open();
    const before = await everything(r, 'hour');
    const daysBefore = await everything(r, 'day');
    await r.stop();
    await queue.close();

    // Retention takes the first day of telegrams; then a capture of the week before is imported (higher seqs).
    queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, maxAgeMs: Date.now() - (START + DAY + 3600_000) });
    await queue.enforceRetention();
    const older = START - 7 * DAY;
    await appendSimulated(queue, older, DAY / STEP, 2);
    const after = recorder(queue);
    await after.open();
    await after.rebuild(older);
    const hours = await everything(after, 'hour');
    const days = await everything(after, 'day');
    await after.stop();

    const imported = hours.filter((h) => h.start < START);
    expect(imported).toHaveLength(24);
    expect(imported.reduce((n, h) => n + h.telegrams, 0)).toBe(DAY / STEP);
    // Every hour from before is still there, as it was: those the queue lost are kept, the rest rebuilt alike.
    expect(hours.filter((h) => h.start >= START)).toEqual(before);
    expect(days.filter((d) => d.start >= START)).toEqual(daysBefore);
  });
});
