import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { periodStarts, readingsHistory } from '../../src/http/history.js';
import { LiveFeed } from '../../src/http/live.js';
import { queueHistory } from '../../src/http/queue-history.js';
import { readingOf } from '../../src/http/reading.js';
import { Queue } from '../../src/queue/queue.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { DAY_START, MONTH_START, NOW, series, telegramFor } from './series.js';

function fixture(name: string) {
  return parseTelegram(readFileSync(fileURLToPath(new URL(`../fixtures/telegrams/${name}`, import.meta.url)), 'latin1'));
}

describe('readingOf: the page figures of a telegram', () => {
  it.each([
    ['V5.txt', { powerImportKw: 0.244, powerExportKw: 0, importT1: 4.426, importT2: 2.399, exportT1: 2.444, exportT2: 0, gasM3: 0.107 }],
    ['V4_2.txt', { powerImportKw: 2.027, importT1: 1581.123, gasM3: 981.443 }],
    // DSMR 2.2: no meter time, gas on the line after 0-1:24.3.0.
    ['SEED_KAMSTRUP162_V2_2.txt', { powerImportKw: 0.25, importT1: 913, importT2: 787, gasM3: 752.852, t: 1_700_000_000_000 }],
    // Sagemcom sends W and Wh.
    ['SAGEMCOM_T210_D_R.txt', { powerImportKw: 0.286, importT1: 5017.12, importT2: 1528.646, exportT2: 0.058, gasM3: null }],
    // Belgian gas on 24.2.3; the water meter (type 7) on channel 2 is not gas.
    ['FLUVIUS_V171.txt', { importT2: 15.758, gasM3: 112.384 }],
    // Channel 1 sends a placeholder without unit; the gas meter is on channel 2.
    ['V5_TWO_MBUS.txt', { gasM3: 246.138 }],
  ])('%s', (name, expected) => {
    expect(readingOf(fixture(name), 1_700_000_000_000)).toMatchObject(expected);
  });
});

describe('periodStarts: today and this month in the configured zone', () => {
  it.each([
    ['winter', '2025-01-15T12:00:00Z', 'Europe/Amsterdam', '2025-01-14T23:00:00.000Z', '2024-12-31T23:00:00.000Z'],
    ['the day clocks go forward', '2025-03-30T12:00:00Z', 'Europe/Amsterdam', '2025-03-29T23:00:00.000Z', '2025-02-28T23:00:00.000Z'],
    ['the day clocks go back', '2025-10-26T12:00:00Z', 'Europe/Amsterdam', '2025-10-25T22:00:00.000Z', '2025-09-30T22:00:00.000Z'],
    ['just after local midnight (still the previous day in UTC)', '2025-06-30T22:30:00Z', 'Europe/Brussels', '2025-06-30T22:00:00.000Z', '2025-06-30T22:00:00.000Z'],
    ['another zone', '2025-07-04T12:00:00Z', 'Europe/London', '2025-07-03T23:00:00.000Z', '2025-06-30T23:00:00.000Z'],
  ])('%s', (_name, now, zone, day, month) => {
    const { dayStartMs, monthStartMs } = periodStarts(Date.parse(now), zone);
    expect(new Date(dayStartMs).toISOString()).toBe(day);
    expect(new Date(monthStartMs).toISOString()).toBe(month);
  });
});

describe('LiveFeed', () => {
  it('reports the usual interval (median of gaps), unmoved by one long outage', () => {
    const feed = new LiveFeed();
    const telegram = fixture('V5.txt');
    expect(feed.intervalSeconds).toBe(10);
    expect(feed.lastTelegramAt).toBeNull();
    const times = [0, 1000, 2000, 3000, 600_000, 601_000, 602_000];
    for (const t of times) feed.publish(telegram, new Date(NOW + t));
    expect(feed.intervalSeconds).toBe(1);
    expect(feed.lastTelegramAt).toBe(new Date(NOW + 602_000).toISOString());
  });

  it('unsubscribed listeners hear nothing more', () => {
    const feed = new LiveFeed();
    const heard: number[] = [];
    const stop = feed.subscribe((p) => heard.push(p.t));
    feed.publish(fixture('V5.txt'), new Date(NOW));
    stop();
    feed.publish(fixture('V5.txt'), new Date(NOW + 1000));
    expect(heard).toEqual([Date.parse('2017-01-02T19:20:02+01:00')]);
  });
});

describe('queueHistory: the page history read from the real LevelDB queue', () => {
  let dir: string;
  let queue: Queue;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p1hist-'));
    // No age retention: the series is dated in the past.
    queue = await Queue.open(dir, { durability: 'grouped', groupIntervalMs: 10, maxAgeMs: 0, retentionIntervalMs: 0 });
  });
  afterEach(async () => {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same power series and energy totals as the telegrams themselves', async () => {
    const values = series();
    await Promise.all(values.map((v) => queue.append(telegramFor(v), new Date(v.t))));
    const fromQueue = queueHistory(queue, { timeZone: 'Europe/Amsterdam' });
    const inMemory = readingsHistory(values.map((v) => readingOf(parseTelegram(telegramFor(v)), v.t)));

    const since = NOW - 3600_000;
    const points = await fromQueue.powerSeries(since);
    expect(points).toHaveLength(361);
    expect(points).toEqual(await inMemory.powerSeries(since));
    expect(points[0]).toMatchObject({ t: since, importKw: values[2]!.powerImport, exportKw: values[2]!.powerExport });

    const totals = await fromQueue.energyTotals(DAY_START, MONTH_START);
    expect(totals).toEqual(await inMemory.energyTotals(DAY_START, MONTH_START));
    expect(totals.day).toMatchObject({ importT1: 1.11, importT2: 3, exportT1: 0.555, exportT2: 0.5, gasM3: 0.745 });
    expect(totals.month).toMatchObject({ importT1: 102.36, importT2: 45.5, exportT1: 3.68, exportT2: 11, gasM3: 41.12 });
    expect(totals.month.from).toBe(new Date(MONTH_START - 10_000).toISOString());
  });

  it('without a telegram before the period, counts from the first one in it', async () => {
    const values = series().slice(2);
    await Promise.all(values.map((v) => queue.append(telegramFor(v), new Date(v.t))));
    const totals = await queueHistory(queue).energyTotals(DAY_START, MONTH_START);
    expect(totals.day.from).toBe(new Date(values[0]!.t).toISOString());
    expect(totals.day.importT1).toBe(0.36);
    expect(await queueHistory(queue).powerSeries(NOW + 1)).toEqual([]);
  });

  it('an empty queue has no figures', async () => {
    const totals = await queueHistory(queue).energyTotals(DAY_START, MONTH_START);
    expect(totals.day).toEqual({ from: null, to: null, importT1: null, importT2: null, exportT1: null, exportT2: null, gasM3: null });
    expect(await queueHistory(queue).powerSeries(0)).toEqual([]);
  });
});
