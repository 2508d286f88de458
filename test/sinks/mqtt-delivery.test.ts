import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Uploader } from '../../src/delivery/uploader.js';
import { Queue } from '../../src/queue/queue.js';
import { MqttSink } from '../../src/sinks/mqtt/sink.js';
import type { PublishPolicy } from '../../src/sinks/sink.js';
import { parseSinkSpec, type MqttSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { Mosquitto, retained, Subscriber, type Received } from '../support/mosquitto.js';
import { until } from '../support/until.js';

const START = Date.UTC(2024, 8, 1);
const STATE = 'p1logger/+/electricity';
const RETRY = { baseMs: 100, capMs: 500 };

let broker: Mosquitto;
let dir: string;
const cleanup: Array<() => Promise<void>> = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker?.close();
});
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  if (!broker.running) await broker.start();
});

/** A queue holding `count` DSMR 5 telegrams of one meter, a second apart from START. */
async function filledQueue(count: number): Promise<{ queue: Queue; meter: VirtualMeter; append: (n: number) => Promise<void> }> {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-mqtt-delivery-'));
  const queue = await Queue.open(join(dir, 'data'), { retentionIntervalMs: 0 });
  const meter = new VirtualMeter({ dsmr: '5', startMs: START });
  let next = 0;
  const append = async (n: number): Promise<void> => {
    const times = Array.from({ length: n }, () => START + next++ * 1000);
    await Promise.all(times.map((t) => queue.append(meter.telegramAt(t), new Date(t))));
  };
  await append(count);
  const at = dir;
  cleanup.push(async () => {
    await queue.close();
    await rm(at, { recursive: true, force: true });
  });
  return { queue, meter, append };
}

function uploader(queue: Queue, url: string, publish: PublishPolicy, options: { username?: string; password?: string; batchSize?: number } = {}): Uploader {
  const { batchSize, ...credentials } = options;
  const sink = new MqttSink({ spec: parseSinkSpec(url) as MqttSpec, retainState: publish === 'latest', timeoutMs: 10_000, reconnect: { ...RETRY, maxRetryAfterMs: 0 }, ...credentials });
  const up = new Uploader({ name: 'ha', sink, log: queue, publish, retry: RETRY, pollIntervalMs: 20, batchSize: batchSize ?? 100 });
  cleanup.push(() => up.stop());
  return up;
}

/** The telegram index (0 for START) of each state message, in arrival order. */
function indices(messages: readonly Received[]): number[] {
  return messages.filter((m) => m.topic.endsWith('/electricity')).map((m) => (Date.parse((JSON.parse(m.payload) as { time: string }).time) - START) / 1000);
}

/**
 * An observer whose session (its subscription) the broker has saved to disk: after a SIGKILL and a restart the
 * broker still queues every state message for it while it reconnects, so it misses nothing the broker took.
 */
async function savedObserver(): Promise<Subscriber> {
  const observer = await Subscriber.connect(broker.url, [STATE], { clientId: `observer-${Date.now()}`, clean: false });
  cleanup.push(() => observer.close());
  await broker.save();
  return observer;
}

describe('MQTT sink through the uploader, against a real Mosquitto', () => {
  it('broker down at start: the sink retries, and once the broker is up every telegram arrives in order', async () => {
    const { queue } = await filledQueue(300);
    await broker.stop();
    const up = uploader(queue, broker.url, 'all');
    up.start();
    await until(() => up.stats().retries >= 2, 'failed attempts');
    expect(up.stats().state).toBe('retrying');
    expect(await queue.cursor('ha')).toBe(0);

    await broker.start();
    const observer = await Subscriber.connect(broker.url, [STATE]);
    cleanup.push(() => observer.close());
    await until(async () => (await queue.cursor('ha')) === 300, 'the cursor at the end');
    await observer.until((messages) => indices(messages.slice(-1))[0] === 299);
    // The observer may have subscribed after the first batches went out; what it saw is in order, without gaps.
    const seen = indices(observer.messages);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => 300 - seen.length + i));
    expect(up.stats()).toMatchObject({ state: 'ok', sent: 300, skipped: 0 });
  });

  it('broker SIGKILLed mid-backlog and restarted: every telegram arrives, in order, duplicates only across the kill', async () => {
    const COUNT = 3000;
    const BATCH = 100;
    const { queue } = await filledQueue(COUNT);
    const observer = await savedObserver();
    let killed: Promise<void> | undefined;
    let states = 0;
    observer.client.on('message', (topic) => {
      // At once, from the observer's own handler, in the middle of a batch: the uploader is deep in the backlog.
      if (topic.endsWith('/electricity') && ++states === 1050) killed = broker.kill();
    });
    const up = uploader(queue, broker.url, 'all', { batchSize: BATCH });
    up.start();
    await until(() => killed !== undefined, 'the kill');
    await killed;
    const acked = await queue.cursor('ha');
    expect(acked).toBeLessThan(COUNT);
    await until(() => up.stats().retries >= 1, 'a failed attempt');
    await broker.start();

    await until(async () => (await queue.cursor('ha')) === COUNT, 'the cursor at the end');
    await observer.until((messages) => indices(messages.slice(-1))[0] === COUNT - 1);
    const seen = indices(observer.messages);
    // One step back at most, where the broker died: the batches in flight are sent again, nothing after them skipped.
    const back = seen.findIndex((n, i) => i > 0 && n <= seen[i - 1]!);
    const before = back === -1 ? seen : seen.slice(0, back);
    const after = back === -1 ? [] : seen.slice(back);
    for (const part of [before, after]) expect(part).toEqual(Array.from({ length: part.length }, (_, i) => part[0]! + i));
    expect(before[0]).toBe(0);
    expect(after.at(-1) ?? before.at(-1)).toBe(COUNT - 1);
    if (after.length > 0) {
      // The re-sent part starts after what was acknowledged, within the batches in flight, and joins without a gap.
      expect(after[0]!).toBeGreaterThan(acked - 1);
      expect(after[0]!).toBeLessThanOrEqual(before.at(-1)! + 1);
      expect(before.at(-1)! - after[0]!).toBeLessThan(BATCH * 2); // MqttSink.maxInFlight batches
    }
    expect(new Set(seen).size).toBe(COUNT);
  });

  it('a wrong password: P1_SINK_AUTH, the sink failing, every telegram kept for when it is fixed', async () => {
    const secured = await Mosquitto.start({ users: { p1logger: 'right-password-1' } });
    cleanup.push(() => secured.close());
    const { queue } = await filledQueue(50);
    const up = uploader(queue, secured.url, 'all', { username: 'p1logger', password: 'wrong-password-2' });
    up.start();
    await until(() => up.stats().state === 'failing', 'the sink failing');
    const stats = up.stats();
    expect(stats.lastErrorCode).toBe('P1_SINK_AUTH');
    expect(stats.lastError).not.toContain('wrong-password-2');
    expect(await queue.cursor('ha')).toBe(0);
    expect((await queue.status()).records).toBe(50);
  });

  it('publish: latest after an outage publishes one retained state, the newest, and counts the skipped', async () => {
    const { queue, append } = await filledQueue(10);
    const observer = await savedObserver();
    await broker.stop();
    const up = uploader(queue, broker.url, 'latest');
    up.start();
    await until(() => up.stats().retries >= 1, 'a failed attempt');
    await append(40);

    await broker.start();
    await until(async () => (await queue.cursor('ha')) === 50, 'the cursor at the newest');
    await observer.until((messages) => indices(messages).length >= 1);
    const kept = await retained(broker.url, STATE);
    expect([...kept.values()].map((payload) => indices([{ topic: '/electricity', payload, retain: true }])[0])).toEqual([49]);
    expect(up.stats()).toMatchObject({ state: 'ok', sent: 1, skipped: 49 });
    // Only the one: nothing of the backlog follows it.
    await append(1);
    await until(async () => (await queue.cursor('ha')) === 51, 'the next telegram');
    await observer.until((messages) => indices(messages).includes(50));
    expect(indices(observer.messages)).toEqual([49, 50]);
  });
});
