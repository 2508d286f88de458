import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { AnnouncedSensors } from '../../src/sinks/mqtt/announced.js';
import { meterModel } from '../../src/sinks/mqtt/device.js';
import { SENSOR_CLASSES, sensorsOf } from '../../src/sinks/mqtt/discovery.js';
import { MqttSink } from '../../src/sinks/mqtt/sink.js';
import { mqttDiscovery } from '../../src/sinks/mqtt/wiring.js';
import { recordToPoints, telegramToPoints } from '../../src/sinks/points.js';
import { parseSinkSpec, type MqttSpec } from '../../src/sinks/spec.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureDir, sharedCorpusDir, telegramFiles } from '../support/fixtures.js';
import { Mosquitto, retained } from '../support/mosquitto.js';

const RECEIVED = '2025-01-14T08:00:00.000Z';
const CONTEXT = { discoveryPrefix: 'homeassistant', prefix: 'p1logger/M', statusTopic: 'p1logger/M/status', version: '1.2.3' };
/** A single-phase DSMR 4.2 meter (Landis+Gyr E350, XMX) with gas, from the shared corpus. */
const SINGLE_PHASE = join(sharedCorpusDir, 'external/athombv-node-dsmr-parser-crcfixed/dsmr-4.2-xmx-1.txt');

function record(path: string): QueueRecord {
  return { seq: 1, receivedAt: RECEIVED, protocol: 'dsmr', raw: readFileSync(path, 'latin1') };
}

function sensors(path: string): ReturnType<typeof sensorsOf> {
  const r = record(path);
  return sensorsOf(recordToPoints(r), r.raw, CONTEXT);
}

const objects = (path: string): string[] => sensors(path).map((s) => s.object);

describe('Home Assistant discovery payloads (pure)', () => {
  it.each(telegramFiles())('%s: a sensor for exactly each quantity the telegram has, with the keys HA needs', (name) => {
    const r = record(join(fixtureDir, name));
    const points = telegramToPoints(parseTelegram(r.raw), r.receivedAt);
    const list = sensors(join(fixtureDir, name));
    const fields = points.filter((p) => p.measurement === 'electricity').flatMap((p) => Object.keys(p.fields));
    expect(list.filter((s) => s.config.state_topic === 'p1logger/M/electricity').map((s) => s.object)).toEqual(fields);
    expect(list.filter((s) => s.config.state_topic !== 'p1logger/M/electricity')).toHaveLength(points.filter((p) => p.measurement !== 'electricity').length);
    const ids = new Set<string>();
    for (const sensor of list) {
      const config = JSON.parse(JSON.stringify(sensor.config)) as Record<string, unknown>;
      expect(Object.keys(config)).toEqual(expect.arrayContaining(['name', 'unique_id', 'state_topic', 'value_template', 'availability_topic', 'device', 'origin']));
      expect(config.availability_topic).toBe('p1logger/M/status');
      expect(sensor.configTopic).toMatch(/^homeassistant\/sensor\/p1logger_[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/config$/);
      ids.add(config.unique_id as string);
      const device = config.device as Record<string, unknown>;
      expect(device.identifiers).toEqual([expect.stringMatching(/^p1logger_/)]);
    }
    expect(ids.size).toBe(list.length);
  });

  it('three-phase with gas (DSMR 5): L1-L3, energy and gas as the Energy dashboard wants them', () => {
    const list = sensors(join(fixtureDir, 'V5_TWO_MBUS.txt'));
    const by = new Map(list.map((s) => [s.object, s.config]));
    expect(['voltage_l1', 'voltage_l2', 'voltage_l3', 'current_l3', 'power_import_l3'].every((o) => by.has(o))).toBe(true);
    expect(by.get('import_t1')).toMatchObject({ device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'kWh', value_template: '{{ value_json.import_t1 }}' });
    expect(by.get('power_import')).toMatchObject({ device_class: 'power', state_class: 'measurement', unit_of_measurement: 'kW' });
    expect(by.get('voltage_l2')).toMatchObject({ device_class: 'voltage', state_class: 'measurement', unit_of_measurement: 'V' });
    expect(by.get('current_l1')).toMatchObject({ device_class: 'current', state_class: 'measurement', unit_of_measurement: 'A' });
    expect(by.get('gas')).toMatchObject({
      device_class: 'gas',
      state_class: 'total_increasing',
      unit_of_measurement: 'm³',
      state_topic: 'p1logger/M/gas',
      value_template: '{{ value_json.value }}',
      device: { name: 'Gas meter', serial_number: 'G0039001936990619', via_device: 'p1logger_E0044007382246019' },
    });
    expect(by.get('import_t1')).toMatchObject({
      unique_id: 'p1logger_E0044007382246019_import_t1',
      device: { identifiers: ['p1logger_E0044007382246019'], manufacturer: 'Iskraemeco', model: 'M550T-1012', serial_number: 'E0044007382246019', sw_version: 'p1logger 1.2.3' },
    });
  });

  it('single-phase: no L2 or L3 sensor at all', () => {
    const list = objects(SINGLE_PHASE);
    expect(list).toEqual(expect.arrayContaining(['current_l1', 'power_import_l1', 'gas']));
    expect(list.filter((o) => /_l[23]$/.test(o))).toEqual([]);
    expect(sensors(SINGLE_PHASE)[0]!.config.device).toMatchObject({ manufacturer: 'Xemex', model: 'LGBBFG10' });
  });

  it('gas and water beside each other (Fluvius): water in m³ under its own device; heat in GJ', () => {
    const by = new Map(sensors(join(fixtureDir, 'FLUVIUS_V171.txt')).map((s) => [s.object, s.config]));
    expect(by.get('water')).toMatchObject({ device_class: 'water', state_class: 'total_increasing', unit_of_measurement: 'm³', state_topic: 'p1logger/M/water', device: { name: 'Water meter' } });
    expect(by.get('gas')).toMatchObject({ device_class: 'gas', unit_of_measurement: 'm³' });
    expect(by.get('demand_peak_month')).toMatchObject({ device_class: 'power', unit_of_measurement: 'kW' });
    const heat = new Map(sensors(join(fixtureDir, 'UNPADDED_CRC.txt')).map((s) => [s.object, s.config]));
    expect(heat.get('heat')).toMatchObject({ device_class: 'energy', state_class: 'total_increasing', unit_of_measurement: 'GJ' });
  });

  it('every Points field has a row in the one table', async () => {
    const { ELECTRICITY_FIELD_NAMES } = await import('../../src/sinks/points.js');
    for (const field of [...ELECTRICITY_FIELD_NAMES, 'gas', 'water', 'heat', 'mbus']) expect(SENSOR_CLASSES[field], field).toBeDefined();
  });

  it.each([
    ['/ISk5\\2MT382-1000\r\n', { manufacturer: 'Iskraemeco', model: 'MT382-1000' }],
    ['/KFM5KAIFA-METER\r\n', { manufacturer: 'Kaifa', model: 'KAIFA-METER' }],
    ['/XMX5LGBBFFB231117741\r\n', { manufacturer: 'Xemex', model: 'LGBBFFB231117741' }],
    ['/Ene5\\T210-D ESMR5.0\r\n', { manufacturer: 'Ene', model: 'T210-D ESMR5.0' }],
  ])('header %j -> %j', (header, expected) => {
    expect(meterModel(header)).toEqual(expected);
  });
});

describe('Home Assistant discovery over a real Mosquitto', () => {
  let broker: Mosquitto;
  let dir: string;
  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = await mkdtemp(join(tmpdir(), 'p1logger-mqtt-discovery-'));
  });
  afterAll(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const fixture = (name: string): QueueRecord => record(join(fixtureDir, name));

  it('retained configs as valid JSON; announced again when Home Assistant says it is online', async () => {
    const sink = new MqttSink({ spec: parseSinkSpec(broker.url) as MqttSpec, retainState: true });
    try {
      await sink.send([fixture('V5_TWO_MBUS.txt')]);
      const kept = await retained(broker.url, 'homeassistant/#');
      const expected = sensorsOf(recordToPoints(fixture('V5_TWO_MBUS.txt')), fixture('V5_TWO_MBUS.txt').raw, {
        ...CONTEXT,
        prefix: 'p1logger/E0044007382246019',
        statusTopic: 'p1logger/E0044007382246019/status',
        version: (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
      });
      expect([...kept.keys()].sort()).toEqual(expected.map((s) => s.configTopic).sort());
      for (const sensor of expected) expect(JSON.parse(kept.get(sensor.configTopic)!)).toEqual(sensor.config);

      // Home Assistant restarted with a broker that forgot them: its birth message brings them back.
      const gas = 'homeassistant/sensor/p1logger_E0044007382246019/gas/config';
      const client = await (await import('mqtt')).connectAsync(broker.url);
      await client.publishAsync(gas, '', { qos: 1, retain: true });
      expect((await retained(broker.url, gas)).has(gas)).toBe(false);
      await client.publishAsync('homeassistant/status', 'online', { qos: 1 });
      await client.endAsync();
      const deadline = Date.now() + 30_000;
      while (!(await retained(broker.url, gas)).has(gas)) {
        if (Date.now() > deadline) throw new Error('configs not announced again');
      }
    } finally {
      await sink.close();
    }
  });

  it('removing the sink from the configuration removes its sensors (empty retained configs) on the next start', async () => {
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'config.yaml');
    const start = async (yaml: string) => {
      await writeFile(configFile, yaml, { mode: 0o600 });
      const { config } = await loadConfig({ flags: { config: configFile }, env: {} });
      return { config, wiring: await mqttDiscovery(config, { dataDir, env: {}, logger: silentLogger() }) };
    };
    // First run: sink "ha" announces, and remembers what it announced.
    const first = await start(`sinks:\n  - name: ha\n    url: ${broker.url}\n    mqtt: { topic: home/p1 }\n`);
    expect(first.wiring.removal).toBeUndefined();
    const sink = new MqttSink({ spec: parseSinkSpec(broker.url) as MqttSpec, retainState: true, topic: 'home/p1', ...first.wiring.sinkOptions(first.config.sinks[0]!) });
    await sink.send([fixture('V4_2.txt')]);
    await sink.close();
    const announced = (await new AnnouncedSensors(dataDir).load()).ha!;
    expect(announced.topics.length).toBeGreaterThan(5);
    const before = await retained(broker.url, 'homeassistant/#');
    expect(announced.topics.every((t) => before.has(t))).toBe(true);

    // Next start without it: the configs are emptied (gone from the broker) and forgotten.
    const second = await start('sinks: []\n');
    expect(second.wiring.removal).toBeDefined();
    second.wiring.removal!.start();
    const deadline = Date.now() + 30_000;
    while ((await new AnnouncedSensors(dataDir).load()).ha !== undefined) {
      if (Date.now() > deadline) throw new Error('sensors not removed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const after = await retained(broker.url, 'homeassistant/#');
    expect(announced.topics.filter((t) => after.has(t))).toEqual([]);
    // And a start after that has nothing left to remove.
    expect((await start('sinks: []\n')).wiring.removal).toBeUndefined();
  });
});
