import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ClockWatch } from '../../src/queue/clock-watch.js';
import { Queue } from '../../src/queue/queue.js';
import { Service } from '../../src/service/service.js';
import { makeTelegram, makeTempDir, pushSource } from './helpers.js';

const DAY = 24 * 3600_000;
const YEAR = 365 * DAY;
let dir: string;

beforeEach(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ClockWatch', () => {
  it('reports a jump of the wall clock against the monotonic one, forward and back, and follows small drift', () => {
    const watch = new ClockWatch(60_000);
    expect(watch.observe(1000, 0)).toBe(0);
    expect(watch.observe(2000, 1000)).toBe(0);
    expect(watch.observe(2000 + 59_000, 2000)).toBe(0); // NTP slewing: followed
    expect(watch.observe(56 * YEAR, 3000)).toBe(56 * YEAR - 3000 - 59_000);
    expect(watch.observe(56 * YEAR - 2 * 3600_000 + 1000, 4000)).toBe(-2 * 3600_000);
  });
});

/** The service with a wall clock the test sets, and a meter whose telegrams the test hands over. */
async function clockScenario(): Promise<{
  service: Service;
  queue: Queue;
  setClock(ms: number): void;
  feed(from: number, count: number): Promise<void>;
}> {
  let base = 0;
  let t0 = performance.now();
  const clock = (): Date => new Date(base + (performance.now() - t0));
  const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0, maxAgeMs: 30 * DAY, now: clock });
  await queue.cursor('influx');
  const meter = pushSource();
  const service = new Service({ source: meter.source, queue, logger: silentLogger(), clock });
  await service.start();
  return {
    service,
    queue,
    setClock(ms) {
      base = ms;
      t0 = performance.now();
    },
    async feed(from, count) {
      const target = service.counters.stored + count;
      meter.push(Array.from({ length: count }, (_, k) => Buffer.from(makeTelegram(from + k), 'latin1')));
      while (service.counters.stored < target) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

describe('a clock that jumps (a Pi without real-time clock)', () => {
  it('started in 1970, set by NTP to today: nothing unsent is removed by age, and the early receive times are corrected', async () => {
    const s = await clockScenario();
    s.setClock(0); // 1970-01-01
    await s.feed(0, 20);
    const today = Date.parse('2026-12-01T12:00:00Z');
    s.setClock(today);
    await s.feed(20, 10);
    const retention = await s.queue.enforceRetention();
    expect(retention.age).toBe(0);
    const records = await s.queue.readAfter(0, 100);
    expect(records).toHaveLength(30);
    for (const r of records.slice(0, 20)) {
      expect(r.clockCorrectedMs).toBeGreaterThan(55 * YEAR);
      // Read as the set clock would have given them: just before the jump, in order with what came after.
      expect(Date.parse(r.receivedAt)).toBeLessThanOrEqual(Date.parse(records[20]!.receivedAt));
      expect(Date.parse(r.receivedAt)).toBeGreaterThan(today - 60_000);
    }
    for (const r of records.slice(20)) expect(r.clockCorrectedMs).toBeUndefined();
    // Export by time finds them in today's range.
    expect(await s.queue.readRange({ from: new Date(today - 3600_000), limit: 100 })).toHaveLength(30);
    await s.service.stop();

    // The correction outlives a restart; a month on, age retention removes them as the month-old records they are.
    const now = new Date(today + 31 * DAY);
    const reopened = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0, maxAgeMs: 30 * DAY, now: () => now });
    expect((await reopened.readAfter(0, 1))[0]!.clockCorrectedMs).toBeGreaterThan(55 * YEAR);
    expect((await reopened.enforceRetention()).age).toBe(30);
    await reopened.close();
  });

  it('set back by two hours: the earlier receive times are moved back with it', async () => {
    const s = await clockScenario();
    const noon = Date.parse('2026-12-01T12:00:00Z');
    s.setClock(noon);
    await s.feed(0, 10);
    s.setClock(noon - 2 * 3600_000);
    await s.feed(10, 5);
    const records = await s.queue.readAfter(0, 100);
    for (const r of records.slice(0, 10)) {
      expect(r.clockCorrectedMs).toBeCloseTo(-2 * 3600_000, -4);
      expect(Date.parse(r.receivedAt)).toBeLessThanOrEqual(Date.parse(records[10]!.receivedAt));
    }
    expect((await s.queue.enforceRetention()).age).toBe(0);
    await s.service.stop();
  });

  it('a 1970 receive time no jump corrected (the run ended before NTP): age retention keeps it while unsent', async () => {
    const queue = await Queue.open(dir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0, maxAgeMs: 30 * DAY, now: () => new Date('2026-12-01T12:00:00Z') });
    await queue.cursor('influx');
    for (let i = 0; i < 5; i++) await queue.append(makeTelegram(i), new Date(i * 1000));
    expect((await queue.enforceRetention()).age).toBe(0);
    await queue.ack('influx', 5);
    expect((await queue.enforceRetention()).age).toBe(5);
    await queue.close();
  });
});
