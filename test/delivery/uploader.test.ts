import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Queue } from '../../src/queue/queue.js';
import { CosmSink } from '../../src/sinks/cosm.js';
import { parseSinkSpec, type CosmSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { Uploader, type UploaderOptions } from '../../src/delivery/uploader.js';
import { CosmServer } from '../support/cosm-server.js';
import { until } from '../support/until.js';

const KEY = 'uploader-key-1234';
const START = Date.UTC(2024, 2, 1);
/** Backoff compressed: the behaviour is the same, the test is fast. */
const FAST = { baseMs: 5, capMs: 40, maxRetryAfterMs: 5000 };

let server: CosmServer;
let dir: string;
let queue: Queue;
let feedNo = 0;
let feed: string;
const uploaders: Uploader[] = [];
const meter = new VirtualMeter({ dsmr: '5', startMs: START });
let nextSecond = 0;

beforeAll(async () => {
  server = await CosmServer.start({ apiKey: KEY, feeds: Array.from({ length: 20 }, (_, i) => `feed${i}`) });
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-uploader-'));
  queue = await Queue.open(dir, { retentionIntervalMs: 0 });
  feed = `feed${feedNo++}`;
});
afterEach(async () => {
  server.reset(KEY);
  for (const u of uploaders.splice(0)) await u.stop();
  await queue.close();
  await rm(dir, { recursive: true, force: true });
});

/** Appends `n` DSMR 5 telegrams, one second apart; returns their meter times (ms). */
async function append(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = START + nextSecond++ * 1000;
    times.push(t);
    await queue.append(meter.telegramAt(t), new Date(t));
  }
  return times;
}

function cosmSink(options: { apiKey?: string; timeoutMs?: number } = {}): CosmSink {
  return new CosmSink({ spec: parseSinkSpec(`cosm:${server.url}/v2/feeds/${feed}`) as CosmSpec, apiKey: options.apiKey ?? KEY, timeoutMs: options.timeoutMs ?? 5000 });
}

function logCapture(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function uploader(options: Partial<UploaderOptions> = {}): Uploader {
  const u = new Uploader({ name: 'cosm', sink: cosmSink(), log: queue, retry: FAST, pollIntervalMs: 50, ...options });
  uploaders.push(u);
  u.start();
  return u;
}

/** Within 15 s. */
const within = (condition: () => boolean | Promise<boolean>): Promise<void> => until(condition, 'the uploader', 15_000);

function stored(id = 'power_import'): number[] {
  return server.datapoints(feed, id).map((p) => p.timeMs);
}

describe('Uploader (drain loop) with a real LevelDB queue and the Cosm test server', () => {
  it('drains the backlog, then what is appended while it runs; each reading once, at its own time', async () => {
    const first = await append(30);
    const u = uploader();
    await within(async () => (await queue.cursor('cosm')) === 30);
    const later = await append(12);
    u.notify();
    // The uploader's own figure moves once the ack is written (the queue's cursor moves as the write starts).
    await within(() => u.stats().cursor === 42);
    expect(await queue.cursor('cosm')).toBe(42);
    expect(stored()).toEqual([...first, ...later]);
    expect(u.stats()).toMatchObject({ name: 'cosm', state: 'ok', cursor: 42, sent: 42, retries: 0, deadLetters: 0, lastError: null });
  });

  it('400 for one record: the batch is split, the rest arrives, the bad one is parked with the server reason', async () => {
    const times = await append(40);
    server.rejectTime(times[16]!, 'datapoint out of range');
    const u = uploader();
    await within(async () => (await queue.cursor('cosm')) === 40);
    expect(stored()).toEqual(times.filter((_, i) => i !== 16));
    const dead = await queue.deadLetters('cosm');
    expect(dead.map((d) => [d.seq, d.reason])).toEqual([[17, 'datapoint out of range']]);
    expect(u.stats()).toMatchObject({ state: 'ok', deadLetters: 1, sent: 39, lastErrorCode: 'P1_SINK_REJECTED' });
  });

  it('5xx: retried with backoff until it works, nothing lost or doubled', async () => {
    const times = await append(10);
    server.failNext(3, { status: 503 });
    const u = uploader();
    await within(async () => (await queue.cursor('cosm')) === 10);
    expect(stored()).toEqual(times);
    expect(u.stats()).toMatchObject({ state: 'ok', retries: 3, sent: 10 });
  });

  it('honours Retry-After on 429 and 503, whatever the (short) backoff would say', async () => {
    await append(3);
    server.failNext(1, { status: 429, retryAfter: '1' });
    server.failNext(1, { status: 503, retryAfter: '1' });
    const before = server.requests.length;
    uploader();
    await within(async () => (await queue.cursor('cosm')) === 3);
    const requests = server.requests.slice(before);
    expect(requests.map((r) => r.status).slice(0, 3)).toEqual([429, 503, 200]);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(990);
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(990);
  });

  it('401: logged loudly once, the sink is failing, retried slowly; delivering again once the key is right', async () => {
    await append(5);
    const logs = logCapture();
    server.setApiKey('a-new-key-9999');
    const u = uploader({ logger: createLogger({ level: 'debug', destination: logs.stream }) });
    await within(() => u.stats().retries >= 4);
    const stats = u.stats();
    expect(stats.state).toBe('failing');
    expect(stats.lastErrorCode).toBe('P1_SINK_AUTH');
    expect(stats.lastError).toMatch(/HTTP 401/);
    const errors = logs.lines().filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'P1_SINK_AUTH', sink: 'cosm' });
    expect(JSON.stringify(logs.lines())).not.toContain(KEY);
    server.setApiKey(KEY);
    await within(async () => (await queue.cursor('cosm')) === 5);
    expect(u.stats().state).toBe('ok');
    expect(logs.lines().some((l) => l.msg === 'sink is delivering again')).toBe(true);
  });

  it('a server that hangs: the request times out and is retried', async () => {
    const times = await append(4);
    server.hang(true);
    const u = uploader({ sink: cosmSink({ timeoutMs: 150 }) });
    await within(() => u.stats().state === 'retrying');
    server.hang(false);
    await within(async () => (await queue.cursor('cosm')) === 4);
    expect(stored()).toEqual(times);
  });

  it('a broken sink holds back no other: each has its own cursor', async () => {
    await append(20);
    const broken = uploader({ name: 'broken', sink: cosmSink({ apiKey: 'not-the-key' }) });
    uploader({ name: 'cosm' });
    await within(async () => (await queue.cursor('cosm')) === 20);
    expect(await queue.cursor('broken')).toBe(0);
    expect(broken.stats().state).toBe('failing');
  });

  it('stop() ends a long backoff at once', async () => {
    await append(2);
    server.failNext(1000, { status: 500 });
    const u = uploader({ retry: { baseMs: 60_000, capMs: 300_000 }, random: () => 0.9 });
    await within(() => u.stats().retries >= 1);
    const started = Date.now();
    await u.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await queue.cursor('cosm')).toBe(0);
  });
});
