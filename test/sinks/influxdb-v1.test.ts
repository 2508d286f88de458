import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Uploader } from '../../src/delivery/uploader.js';
import { Queue } from '../../src/queue/queue.js';
import { captureLog, until } from '../sources/log-capture.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { InfluxV1Sink } from '../../src/sinks/influxdb-v1.js';
import { ELECTRICITY_FIELDS } from '../../src/sinks/points.js';
import { parseSinkSpec, type InfluxV1Spec } from '../../src/sinks/spec.js';
import { normaliseReference } from '../../src/telegram/obis.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureDir } from '../support/fixtures.js';
import { Influxd } from '../support/influxd.js';

const FIXTURES = ['V4_2.txt', 'V5.txt', 'V5_TWO_MBUS.txt', 'FLUVIUS_V171.txt', 'SAGEMCOM_T210_D_R.txt', 'ISKRA_IE.txt', 'V5_EON_HU.txt', 'UNPADDED_CRC.txt'];
const RECEIVED = '2025-01-14T08:00:00.000Z';

let influxd: Influxd;
beforeAll(async () => {
  influxd = await Influxd.start();
  await influxd.createDatabase('p1');
});
afterAll(async () => {
  await influxd?.close();
});

function spec(db = 'p1'): InfluxV1Spec {
  return parseSinkSpec(`influxdb-v1:${influxd.url}?db=${db}`) as InfluxV1Spec;
}

function records(): QueueRecord[] {
  return FIXTURES.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr', raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
}

describe('InfluxDB 1.x sink against a real influxd 1.6', () => {
  it('writes what the telegrams say: read back through /query, every field of every fixture', async () => {
    const sink = new InfluxV1Sink({ spec: spec() });
    const result = await sink.send(records());
    expect(result.requests).toBe(1);

    const rows = await influxd.rows('p1', 'electricity');
    for (const record of records()) {
      const telegram = parseTelegram(record.raw);
      const time = new Date(Date.parse(telegram.time ?? RECEIVED)).toISOString().replace('.000Z', 'Z');
      const row = rows.find((r) => r.time === time);
      const expected: Record<string, number> = {};
      for (const [reference, object] of Object.entries(telegram.objects)) {
        const mapping = ELECTRICITY_FIELDS.get(normaliseReference(reference));
        if (mapping === undefined || typeof object.value !== 'number') continue;
        const kilo = (mapping.scale === 'energy' && object.unit === 'Wh') || (mapping.scale === 'power' && object.unit === 'W');
        expected[mapping.field] = kilo ? object.value / 1000 : object.value;
      }
      if (Object.keys(expected).length === 0) {
        expect(row, `no electricity in ${time}`).toBeUndefined();
        continue;
      }
      expect(row, `electricity row at ${time}`).toBeDefined();
      for (const [field, value] of Object.entries(expected)) expect(row![field], `${field} at ${time}`).toBeCloseTo(value, 9);
      if (telegram.objects['0-0:96.1.1']?.text !== undefined) expect(row!.meter).toBe(telegram.objects['0-0:96.1.1'].text);
    }

    const gas = await influxd.rows('p1', 'gas');
    expect(gas).toContainEqual({ time: '2016-11-29T19:00:00Z', channel: '1', meter: '4819243993373755377509728609491464', value: 981.443 });
    expect(gas).toContainEqual({ time: '2020-04-26T20:30:01Z', channel: '2', meter: 'G0039001936990619', value: 246.138 });
    expect(gas.some((r) => String(r.time).startsWith('1970'))).toBe(false);
    expect(await influxd.rows('p1', 'water')).toEqual([{ time: '2020-05-12T11:45:58Z', channel: '2', meter: '8SAG1234567890', value: 872.234 }]);
    expect(await influxd.rows('p1', 'heat')).toEqual([{ time: '2026-02-15T19:05:23Z', channel: '1', meter: '621848012D2C0B0C', value: 240.86 }]);
    // tariff and the counters are integers in InfluxDB: a float there would be a type conflict later.
    const fieldTypes = await influxd.query('SHOW FIELD KEYS FROM "electricity"', 'p1');
    const types: Record<string, string> = Object.fromEntries(fieldTypes[0]!.values.map((row) => [String(row[0]), String(row[1])]));
    expect(types).toMatchObject({ tariff: 'integer', failures: 'integer', sags_l1: 'integer', import_t1: 'float', voltage_l1: 'float' });
  });

  it('a re-send overwrites: the same records twice leave the same number of points', async () => {
    const sink = new InfluxV1Sink({ spec: spec() });
    const count = async (): Promise<unknown> => (await influxd.query('SELECT count(import_t1) FROM electricity', 'p1'))[0]?.values[0]?.[1];
    const before = await count();
    await sink.send(records());
    await sink.send(records());
    expect(await count()).toBe(before);
  });

  it('a missing database is created at the first write (as Telegraf does), then written to', async () => {
    const sink = new InfluxV1Sink({ spec: spec('created') });
    await sink.send(records());
    const databases = await influxd.query('SHOW DATABASES');
    expect(databases[0]!.values.map((row) => row[0])).toContain('created');
    expect((await influxd.rows('created', 'electricity')).length).toBeGreaterThan(0);
  });

  it('a field type conflict is P1_SINK_REJECTED with the server reason', async () => {
    await influxd.createDatabase('conflict');
    // Someone wrote tariff as a float before: InfluxDB refuses our integer.
    const response = await fetch(`${influxd.url}/write?db=conflict&precision=s`, { method: 'POST', body: 'electricity tariff=1.5 1479063477' });
    // (Field types are per shard: the float sits in the same week as the V4_2 telegram sent next.)
    expect(response.status).toBe(204);
    const error = await new InfluxV1Sink({ spec: spec('conflict') }).send(records().slice(0, 1)).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_SINK_REJECTED')).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 400: .*field type conflict/);
  });

  it('a server that is down is P1_SINK_UNAVAILABLE', async () => {
    const sink = new InfluxV1Sink({ spec: parseSinkSpec('influxdb-v1:http://127.0.0.1:1?db=p1') as InfluxV1Spec });
    const error = await sink.send(records()).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_SINK_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('a missing database with authentication on', () => {
  let secured: Influxd;
  const admin = { username: 'admin', password: 'admin-pw-4821' };
  const writer = { username: 'writer', password: 'writer-pw-9137' };
  beforeAll(async () => {
    secured = await Influxd.start({ admin });
    await secured.query(`CREATE USER ${writer.username} WITH PASSWORD '${writer.password}'`, undefined, admin);
  });
  afterAll(async () => {
    await secured?.close();
  });
  const securedSpec = (db: string): InfluxV1Spec => parseSinkSpec(`influxdb-v1:${secured.url}?db=${db}`) as InfluxV1Spec;

  it('an admin user: created and written', async () => {
    await new InfluxV1Sink({ spec: securedSpec('by_admin'), ...admin }).send(records());
    expect((await secured.query('SELECT count(import_t1) FROM electricity', 'by_admin', admin))[0]!.values[0]![1]).toBeGreaterThan(0);
  });

  it('a user without the right: P1_SINK_NOT_FOUND saying it could not be created, why, and what to do', async () => {
    const error = await new InfluxV1Sink({ spec: securedSpec('energy'), ...writer }).send(records()).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_SINK_NOT_FOUND')).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/HTTP 404: database not found: "energy"/);
    expect(message).toContain('could not create it');
    expect(message).toContain('requires admin privilege');
    expect(message).toContain('CREATE DATABASE "energy"');
    expect(message).not.toContain(writer.password);
    // Once someone with the right created it, the same sink writes.
    await secured.query('CREATE DATABASE "energy"', undefined, admin);
    await secured.query('GRANT WRITE ON "energy" TO "writer"', undefined, admin);
    const sink = new InfluxV1Sink({ spec: securedSpec('energy'), ...writer });
    await sink.send(records());
    expect((await secured.query('SELECT count(import_t1) FROM electricity', 'energy', admin))[0]!.values[0]![1]).toBeGreaterThan(0);
  });

  it('the uploader retries a missing database within 30 s (not the 2.5-5 minutes of a refused password)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p1v1-'));
    const queue = await Queue.open(dir, { retentionIntervalMs: 0 });
    const log = captureLog();
    const uploader = new Uploader({ name: 'home', sink: new InfluxV1Sink({ spec: securedSpec('later'), ...writer }), log: queue, logger: log.logger });
    try {
      for (const record of records()) await queue.append(record.raw, new Date(RECEIVED));
      uploader.start();
      await until(() => log.lines.some((l) => l.code === 'P1_SINK_NOT_FOUND'), 20_000, 'the first 404');
      const retry = log.lines.find((l) => l.code === 'P1_SINK_NOT_FOUND')!;
      expect(retry.retryInMs).toBeGreaterThanOrEqual(15_000);
      expect(retry.retryInMs).toBeLessThanOrEqual(30_000);
      expect(String(retry.error)).toContain('could not create it');
    } finally {
      await uploader.stop();
      await queue.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
