import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { CosmSink } from '../../src/sinks/cosm.js';
import { telegramToPoints } from '../../src/sinks/points.js';
import type { SinkError } from '../../src/sinks/sink.js';
import { parseSinkSpec, type CosmSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { CosmServer } from '../support/cosm-server.js';
import { fixtureDir } from '../support/fixtures.js';

const KEY = 'test-api-key-5678';
const RECEIVED = '2025-01-14T08:00:00.000Z';
let server: CosmServer;

beforeAll(async () => {
  server = await CosmServer.start({ apiKey: KEY, feeds: ['1001', '1002', '1003'] });
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => {
  server.reset(KEY);
});

function sink(feed = '1001', options: { apiKey?: string; timeoutMs?: number } = {}): CosmSink {
  return new CosmSink({ spec: parseSinkSpec(`cosm:${server.url}/v2/feeds/${feed}`) as CosmSpec, apiKey: options.apiKey ?? KEY, timeoutMs: options.timeoutMs ?? 5000 });
}

function fixtures(...names: string[]): QueueRecord[] {
  return names.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr', raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
}

async function failure(promise: Promise<unknown>): Promise<SinkError> {
  return (await promise.then(
    () => expect.fail('expected the send to fail'),
    (e: unknown) => e,
  )) as SinkError;
}

describe('Cosm sink against the Cosm-compatible test server', () => {
  it('stores one datastream per quantity with the readings at their own times, and the current values', async () => {
    const records = fixtures('V4_2.txt', 'V5.txt', 'FLUVIUS_V171.txt');
    await sink().send(records);
    const streams = server.datastreams('1001');
    expect(streams).toEqual(expect.arrayContaining(['import_t1', 'power_import', 'tariff', 'gas', 'water', 'demand_peak_month']));
    for (const record of records) {
      for (const point of telegramToPoints(parseTelegram(record.raw), record.receivedAt)) {
        const entries = point.measurement === 'electricity' ? Object.entries(point.fields) : [[point.measurement, point.fields.value!] as const];
        for (const [id, value] of entries) {
          const stored = server.datapoints('1001', id).find((p) => p.timeMs === point.time);
          expect(stored, `${id} at ${new Date(point.time).toISOString()}`).toBeDefined();
          expect(Number(stored!.value)).toBe(value);
        }
      }
    }
    // The newest reading of each stream is its current value.
    expect(server.current('1001', 'import_t1')).toEqual({ at: '2020-05-12T11:54:09.000Z', value: '0.034' });
    expect(server.current('1001', 'gas')).toEqual({ at: '2020-05-12T11:45:58.000Z', value: '112.384' });
    expect(server.requests.every((r) => r.apiKey === KEY)).toBe(true);
  });

  it('a backlog larger than 500 readings goes in requests of at most 500 datapoints', async () => {
    const meter = new VirtualMeter({ dsmr: '5', startMs: Date.UTC(2024, 0, 1) });
    const records = Array.from({ length: 1200 }, (_, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr' as const, raw: meter.telegramAt(Date.UTC(2024, 0, 1) + i * 1000) }));
    const before = server.requests.length;
    const result = await sink('1002').send(records);
    expect(server.datapoints('1002', 'power_import')).toHaveLength(1200);
    const posts = server.requests.slice(before).filter((r) => r.method === 'POST');
    expect(Math.max(...posts.map((r) => r.datapoints))).toBe(500);
    expect(posts.every((r) => r.status === 200)).toBe(true);
    expect(result.requests).toBe(posts.length + 1);
  });

  it('a wrong API key is P1_SINK_AUTH, without the key in the message', async () => {
    const error = await failure(sink('1001', { apiKey: 'wrong-key-0000' }).send(fixtures('V5.txt')));
    expect(isP1Error(error, 'P1_SINK_AUTH')).toBe(true);
    expect(error.message).toMatch(/HTTP 401: You do not have permission/);
    expect(error.message).not.toContain('wrong-key-0000');
  });

  it('an unknown feed is P1_SINK_NOT_FOUND', async () => {
    const error = await failure(sink('999').send(fixtures('V5.txt')));
    expect(isP1Error(error, 'P1_SINK_NOT_FOUND')).toBe(true);
    expect(error.message).toMatch(/feed 999 does not exist/);
  });

  it('429 with Retry-After and 500 are P1_SINK_UNAVAILABLE; Retry-After is kept', async () => {
    server.failNext(1, { status: 429, retryAfter: '5' });
    const limited = await failure(sink().send(fixtures('V5.txt')));
    expect(isP1Error(limited, 'P1_SINK_UNAVAILABLE')).toBe(true);
    expect(limited.retryAfterMs).toBe(5000);
    server.failNext(1, { status: 500 });
    expect(isP1Error(await failure(sink().send(fixtures('V5.txt'))), 'P1_SINK_UNAVAILABLE')).toBe(true);
  });

  it('a datapoint the server refuses is P1_SINK_REJECTED with the server reason', async () => {
    server.rejectTime(Date.parse('2016-11-13T20:57:57+01:00'), 'value out of range for this datastream');
    const error = await failure(sink('1003').send(fixtures('V5.txt', 'V4_2.txt')));
    expect(isP1Error(error, 'P1_SINK_REJECTED')).toBe(true);
    expect(error.reason).toBe('value out of range for this datastream');
  });

  it('a server that hangs is P1_SINK_UNAVAILABLE after the timeout', async () => {
    server.hang(true);
    const started = Date.now();
    const error = await failure(sink('1001', { timeoutMs: 300 }).send(fixtures('V5.txt')));
    expect(isP1Error(error, 'P1_SINK_UNAVAILABLE')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
