import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { QueueRecord } from '../../src/queue/types.js';
import { MqttSink } from '../../src/sinks/mqtt/sink.js';
import type { SinkError } from '../../src/sinks/sink.js';
import { parseSinkSpec, type MqttSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { Mosquitto, retained, Subscriber, type Received } from '../support/mosquitto.js';
import { MqttProxy } from '../support/mqtt-proxy.js';
import { until } from '../support/until.js';

/**
 * The sink's own publisher (packets written straight to the socket) seen from between it and a real Mosquitto:
 * the broker's Receive Maximum is never exceeded, and a connection lost while a whole batch waits for its PUBACKs
 * fails that batch (so the uploader sends it again) instead of waiting for ever.
 */
const START = Date.UTC(2024, 8, 1);
const STATE = 'p1logger/+/electricity';
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});
afterAll(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Five minutes between telegrams: each has a new gas reading, so each is two messages (electricity, gas). */
const STEP_MS = 300_000;

/** `count` DSMR 5 telegrams of one meter, STEP_MS apart, from telegram `from` on. */
function records(from: number, count: number): QueueRecord[] {
  const meter = new VirtualMeter({ dsmr: '5', startMs: START });
  return Array.from({ length: count }, (_, i) => {
    const t = START + (from + i) * STEP_MS;
    return { seq: from + i + 1, receivedAt: new Date(t).toISOString(), protocol: 'dsmr' as const, raw: meter.telegramAt(t) };
  });
}

function indices(messages: readonly Received[]): number[] {
  return messages.filter((m) => m.topic.endsWith('/electricity')).map((m) => (Date.parse((JSON.parse(m.payload) as { time: string }).time) - START) / STEP_MS);
}

async function started(options: { maxInflight?: number; maxPacketSize?: number } = {}): Promise<Mosquitto> {
  const broker = await Mosquitto.start(options);
  cleanup.push(() => broker.close());
  return broker;
}

async function proxied(broker: Mosquitto, protocolVersion: 4 | 5): Promise<MqttProxy> {
  const proxy = await MqttProxy.start(broker.port, protocolVersion);
  cleanup.push(() => proxy.close());
  return proxy;
}

function sink(url: string, options: { protocol?: '5'; timeoutMs: number }): MqttSink {
  const made = new MqttSink({ spec: parseSinkSpec(url) as MqttSpec, retainState: false, discovery: { enabled: false, prefix: 'homeassistant' }, ...options });
  cleanup.push(() => made.close());
  return made;
}

async function observer(broker: Mosquitto): Promise<Subscriber> {
  const subscriber = await Subscriber.connect(broker.url, [STATE]);
  cleanup.push(() => subscriber.close());
  return subscriber;
}

describe('MQTT publisher against a real Mosquitto, watched from between', () => {
  it("MQTT 5: never more messages without their PUBACK than the broker's Receive Maximum, and every one arrives in order", async () => {
    const broker = await started({ maxInflight: 5 });
    const proxy = await proxied(broker, 5);
    const seen = await observer(broker);
    const mqtt = sink(proxy.url, { protocol: '5', timeoutMs: 30_000 });

    const result = await mqtt.send(records(0, 100));
    // Electricity and gas per telegram; the status `online` went first.
    expect(result.points).toBe(200);
    expect(proxy.published).toBe(201);
    expect(proxy.maxOutstanding).toBeGreaterThanOrEqual(1);
    expect(proxy.maxOutstanding).toBeLessThanOrEqual(5);
    await seen.until((messages) => indices(messages).length === 100);
    expect(indices(seen.messages)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('the broker SIGKILLed while the whole batch is written and waits for its PUBACKs: the send fails, and sent again it arrives whole', async () => {
    const broker = await started();
    const proxy = await proxied(broker, 4);
    // The stall timer is far off: what fails the batch here is the connection going, nothing else.
    const mqtt = sink(proxy.url, { timeoutMs: 120_000 });
    await mqtt.send(records(0, 1));
    const before = proxy.published;

    proxy.holdAcks = true;
    const batch = records(1, 200);
    const sending = mqtt.send(batch).then(
      () => expect.fail('the batch cannot be acknowledged: its PUBACKs were held back'),
      (error: unknown) => error as SinkError,
    );
    await until(() => proxy.published === before + 400, 'every message of the batch written');
    await broker.kill();
    const error = await sending;
    expect(error.code).toBe('P1_SINK_UNAVAILABLE');

    await broker.start();
    proxy.holdAcks = false;
    const seen = await observer(broker);
    // The sink reconnects by itself after its backoff; the uploader would send the batch again, as here.
    let result: Awaited<ReturnType<MqttSink['send']>> | undefined;
    while (result === undefined) result = await mqtt.send(batch).catch(async () => void (await new Promise((resolve) => setTimeout(resolve, 50))));
    expect(result.points).toBe(400);
    await seen.until((messages) => indices(messages).length === 200);
    expect(indices(seen.messages)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a broker that stops acknowledging: the batch fails after the timeout, the connection is given up, the next send gets a new one', async () => {
    const broker = await started();
    const proxy = await proxied(broker, 4);
    const mqtt = sink(proxy.url, { timeoutMs: 1000 });
    await mqtt.send(records(0, 1));

    proxy.holdAcks = true;
    const error = await mqtt.send(records(1, 50)).then(
      () => expect.fail('no PUBACK came'),
      (e: unknown) => e as SinkError,
    );
    expect(error.code).toBe('P1_SINK_UNAVAILABLE');
    expect(error.message).toMatch(/PUBACK/);

    proxy.holdAcks = false;
    const seen = await observer(broker);
    let result: Awaited<ReturnType<MqttSink['send']>> | undefined;
    while (result === undefined) result = await mqtt.send(records(1, 50)).catch(async () => void (await new Promise((resolve) => setTimeout(resolve, 50))));
    expect(result.points).toBe(100);
    await seen.until((messages) => indices(messages).includes(50));
  });

  it("MQTT 5: a message above the broker's Maximum Packet Size is refused as too large (parked by the uploader), and the connection stays", async () => {
    // The electricity state of a DSMR 5 telegram is some 700 bytes; the status and the gas state are far smaller.
    const broker = await started({ maxPacketSize: 400 });
    const seen = await observer(broker);
    const mqtt = sink(broker.url, { protocol: '5', timeoutMs: 30_000 });
    const error = await mqtt.send(records(0, 1)).then(
      () => expect.fail('the electricity state is larger than the broker takes'),
      (e: unknown) => e as SinkError,
    );
    expect(error.code).toBe('P1_SINK_REJECTED');
    expect(error.message).toMatch(/Maximum Packet Size of 400/);
    // Still connected: had the broker cut the connection for the packet, its Last Will would say `offline`.
    expect([...(await retained(broker.url, 'p1logger/+/status')).values()]).toEqual(['online']);
    expect(seen.messages).toEqual([]);
  });
});
