import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { MqttSink, type MqttSinkOptions } from '../../src/sinks/mqtt/sink.js';
import { meterOf, topicId } from '../../src/sinks/mqtt/topics.js';
import { telegramToPoints } from '../../src/sinks/points.js';
import type { SinkError } from '../../src/sinks/sink.js';
import { parseSinkSpec, type MqttSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureDir } from '../support/fixtures.js';
import { Mosquitto, retained, Subscriber } from '../support/mosquitto.js';

const RECEIVED = '2025-01-14T08:00:00.000Z';
const FIXTURES = ['V4_2.txt', 'V5.txt', 'V5_TWO_MBUS.txt', 'FLUVIUS_V171.txt', 'ESY5Q3DA1004_V304.txt', 'UNPADDED_CRC.txt'];
const USER = 'p1logger';
const PASSWORD = 'mqtt-Secret-4711';

function records(...names: string[]): QueueRecord[] {
  return names.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr' as const, raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
}

function sink(url: string, options: Partial<MqttSinkOptions> = {}): MqttSink {
  return new MqttSink({ spec: parseSinkSpec(url) as MqttSpec, retainState: false, timeoutMs: 10_000, version: '9.9.9', ...options });
}

async function failure(promise: Promise<unknown>): Promise<SinkError> {
  return (await promise.then(
    () => expect.fail('expected the send to fail'),
    (e: unknown) => e,
  )) as SinkError;
}

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start({ users: { [USER]: PASSWORD }, tls: true });
});
afterAll(async () => {
  await broker?.close();
});

const auth = { username: USER, password: PASSWORD };

describe('MQTT sink against a real Mosquitto', () => {
  it('publishes each telegram as the Points table says: electricity, and gas/heat at the device\'s own time', async () => {
    const subscriber = await Subscriber.connect(broker.url, ['p1logger/#'], auth);
    const mqtt = sink(broker.url, { ...auth, discovery: { enabled: false, prefix: 'homeassistant' } });
    try {
      const result = await mqtt.send(records(...FIXTURES));
      let expected = 0;
      for (const record of records(...FIXTURES)) expected += telegramToPoints(parseTelegram(record.raw), record.receivedAt).length;
      expect(result).toEqual({ points: expected, requests: 1 });
      await subscriber.until((messages) => messages.filter((m) => !m.topic.endsWith('/status')).length === expected);

      const states = subscriber.messages.filter((m) => !m.topic.endsWith('/status'));
      let i = 0;
      for (const record of records(...FIXTURES)) {
        for (const point of telegramToPoints(parseTelegram(record.raw), record.receivedAt)) {
          const message = states[i++]!;
          expect(message.topic).toBe(`p1logger/${topicId(meterOf(telegramToPoints(parseTelegram(record.raw), record.receivedAt)))}/${point.measurement}`);
          expect(JSON.parse(message.payload)).toEqual({ time: new Date(point.time).toISOString(), ...point.tags, ...point.fields });
        }
      }
      // Spot checks against the telegrams themselves.
      const gas = JSON.parse(subscriber.on('p1logger/E0044007382246019/gas')[0]!.payload) as Record<string, unknown>;
      expect(gas).toEqual({ time: '2020-04-26T20:30:01.000Z', channel: '2', meter: 'G0039001936990619', value: 246.138 });
      expect(JSON.parse(subscriber.on('p1logger/K8EG004046395507/electricity')[0]!.payload)).toMatchObject({ import_t1: 4.426, time: '2017-01-02T18:20:02.000Z' });
      const esy = JSON.parse(subscriber.on('p1logger/1ESY1336001560/electricity')[0]!.payload) as Record<string, unknown>;
      expect(esy.time).toBe(RECEIVED);
      expect(esy.power_import).toBeCloseTo(1.68821, 9);
      // Status: online, retained, under the meter the connection is named after (the newest telegram's).
      const newest = records(...FIXTURES).at(-1)!;
      const kept = await retained(broker.url, 'p1logger/+/status', auth);
      expect(kept.get(`p1logger/${topicId(meterOf(telegramToPoints(parseTelegram(newest.raw), RECEIVED)))}/status`)).toBe('online');
    } finally {
      await mqtt.close();
      await subscriber.close();
    }
  });

  it('a device\'s reading is sent when it is new, and again with the first telegram of each batch', async () => {
    // Ten minutes of a DSMR 5 meter, one telegram every 20 s: its gas reading changes every five minutes.
    const meter = new VirtualMeter({ dsmr: '5', startMs: Date.UTC(2024, 0, 10, 11, 58) });
    const telegrams: QueueRecord[] = Array.from({ length: 30 }, (_, i) => {
      const t = Date.UTC(2024, 0, 10, 11, 58) + i * 20_000;
      return { seq: i + 1, receivedAt: new Date(t).toISOString(), protocol: 'dsmr', raw: meter.telegramAt(t) };
    });
    const readings = telegrams.map((r) => telegramToPoints(parseTelegram(r.raw), r.receivedAt).find((p) => p.measurement === 'gas')!);
    const distinct = [...new Set(readings.map((p) => p.time))];
    expect(distinct).toHaveLength(3);
    const subscriber = await Subscriber.connect(broker.url, ['p1logger/+/gas', 'p1logger/+/electricity'], auth);
    const mqtt = sink(broker.url, { ...auth, discovery: { enabled: false, prefix: 'homeassistant' } });
    try {
      // Two batches: the second starts in the middle of a reading, which it sends again with its first telegram.
      expect(await mqtt.send(telegrams.slice(0, 20))).toEqual({ points: 20 + 2, requests: 1 });
      expect(await mqtt.send(telegrams.slice(20))).toEqual({ points: 10 + 2, requests: 1 });
      await subscriber.until((messages) => messages.length === 34);
      // Sent: with the first telegram of each batch (0 and 20), and with each telegram whose reading is new.
      const sent = readings.map((p, i) => i === 0 || i === 20 || p.time !== readings[i - 1]!.time);
      expect(sent.filter(Boolean)).toHaveLength(4);
      const gas = subscriber.messages.filter((m) => m.topic.endsWith('/gas')).map((m) => JSON.parse(m.payload) as unknown);
      expect(gas).toEqual(readings.filter((_, i) => sent[i]).map((p) => ({ time: new Date(p.time).toISOString(), ...p.tags, ...p.fields })));
      // Each right after the electricity message of its telegram.
      expect(subscriber.messages.map((m) => (m.topic.endsWith('/gas') ? 'g' : 'e')).join('')).toBe(sent.map((s) => (s ? 'eg' : 'e')).join(''));
    } finally {
      await mqtt.close();
      await subscriber.close();
    }
  });

  it('closing publishes offline on the status topic; the client id and topics follow the configuration', async () => {
    const mqtt = sink(broker.url, { ...auth, clientId: 'my-p1', topic: 'home/meter', discovery: { enabled: false, prefix: 'homeassistant' }, retainState: true });
    await mqtt.send(records('V5.txt'));
    expect((await retained(broker.url, 'home/meter/#', auth)).get('home/meter/status')).toBe('online');
    await mqtt.close();
    const kept = await retained(broker.url, 'home/meter/#', auth);
    expect(kept.get('home/meter/status')).toBe('offline');
    // publish: latest keeps the newest state retained for whoever subscribes later (Home Assistant after a restart).
    expect(JSON.parse(kept.get('home/meter/electricity')!)).toMatchObject({ meter: 'K8EG004046395507', import_t1: 4.426 });
  });

  it('a wrong password is P1_SINK_AUTH, without the password in the message; no password either', async () => {
    const wrong = 'Wrong-Pass-9999';
    for (const options of [{ username: USER, password: wrong }, {}]) {
      const mqtt = sink(broker.url, options);
      const error = await failure(mqtt.send(records('V5.txt')));
      expect(isP1Error(error, 'P1_SINK_AUTH')).toBe(true);
      expect(error.message).toMatch(/Not authorized|Bad username or password/);
      expect(JSON.stringify({ message: error.message, reason: error.reason })).not.toContain(wrong);
      await mqtt.close();
    }
  });

  it('MQTT 5: the same messages, and a refused login has its reason code', async () => {
    const subscriber = await Subscriber.connect(broker.url, ['p1logger/+/electricity'], auth);
    const mqtt = sink(broker.url, { ...auth, protocol: '5' });
    try {
      await mqtt.send(records('V5.txt'));
      await subscriber.until((messages) => messages.length === 1);
      expect(JSON.parse(subscriber.messages[0]!.payload)).toMatchObject({ import_t1: 4.426 });
    } finally {
      await mqtt.close();
      await subscriber.close();
    }
    const refused = sink(broker.url, { username: USER, password: 'nope-nope', protocol: '5' });
    const error = await failure(refused.send(records('V5.txt')));
    expect(isP1Error(error, 'P1_SINK_AUTH')).toBe(true);
    expect(error.reason).toMatch(/reason code 13[45]/);
    await refused.close();
  });

  it('mqtts:// with the broker\'s CA delivers; without it the certificate is not trusted (P1_SINK_AUTH)', async () => {
    const trusted = sink(broker.tlsUrl!, { ...auth, ca: broker.caPem! });
    await expect(trusted.send(records('V5.txt'))).resolves.toMatchObject({ points: 2 });
    await trusted.close();
    const untrusted = sink(broker.tlsUrl!, auth);
    const error = await failure(untrusted.send(records('V5.txt')));
    expect(isP1Error(error, 'P1_SINK_AUTH')).toBe(true);
    expect(error.message).toMatch(/certificate/i);
    await untrusted.close();
  });

  it('a broker that is down is P1_SINK_UNAVAILABLE; started again, the same sink delivers', async () => {
    const mqtt = sink(broker.url, auth);
    await mqtt.send(records('V5.txt'));
    await broker.stop();
    try {
      const error = await failure(mqtt.send(records('V5.txt')));
      expect(isP1Error(error, 'P1_SINK_UNAVAILABLE')).toBe(true);
      expect(error.message).toMatch(/ECONNREFUSED|connection to the broker lost/);
    } finally {
      await broker.start();
    }
    await expect(mqtt.send(records('V5.txt'))).resolves.toMatchObject({ points: 2 });
    await mqtt.close();
  });
});
