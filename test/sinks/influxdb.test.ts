import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import type { QueueRecord } from '../../src/queue/types.js';
import { InfluxV2Sink } from '../../src/sinks/influxdb.js';
import { telegramToPoints } from '../../src/sinks/points.js';
import { parseSinkSpec, type InfluxV2Spec } from '../../src/sinks/spec.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { fixtureDir } from '../support/fixtures.js';
import { Influxd } from '../support/influxd.js';
import { Victoria } from '../support/victoria.js';

const FIXTURES = ['V4_2.txt', 'V5.txt', 'V5_TWO_MBUS.txt', 'FLUVIUS_V171.txt', 'SAGEMCOM_T210_D_R.txt', 'ESY5Q3DA1004_V304.txt', 'UNPADDED_CRC.txt'];
const RECEIVED = '2025-01-14T08:00:00.000Z';

let vm: Victoria;
beforeAll(async () => {
  vm = await Victoria.start();
});
afterAll(async () => {
  await vm?.close();
});

function spec(url: string): InfluxV2Spec {
  return parseSinkSpec(`influxdb:${url}?org=home&bucket=p1`) as InfluxV2Spec;
}

function records(): QueueRecord[] {
  return FIXTURES.map((name, i) => ({ seq: i + 1, receivedAt: RECEIVED, protocol: 'dsmr', raw: readFileSync(`${fixtureDir}${name}`, 'latin1') }));
}

describe('InfluxDB v2 API sink (@influxdata/influxdb-client) against a real VictoriaMetrics', () => {
  it('every field of every point reads back at its time, from /api/v1/export', async () => {
    const sink = new InfluxV2Sink({ spec: spec(vm.url), token: 'unused-by-vm' });
    await sink.send(records());

    const exported = await vm.export('{__name__=~"(electricity|gas|water|heat|mbus)_.*"}');
    const stored = new Map<string, number>();
    for (const series of exported) {
      const { __name__: name, meter, channel } = series.metric;
      series.timestamps.forEach((t, i) => stored.set(`${name}|${meter ?? ''}|${channel ?? ''}|${t}`, series.values[i]!));
    }
    let expected = 0;
    for (const record of records()) {
      for (const point of telegramToPoints(parseTelegram(record.raw), record.receivedAt)) {
        for (const [field, value] of Object.entries(point.fields)) {
          const key = `${point.measurement}_${field}|${point.tags.meter ?? ''}|${point.tags.channel ?? ''}|${Math.floor(point.time / 1000) * 1000}`;
          expect(stored.get(key), key).toBeCloseTo(value, 9);
          expected++;
        }
      }
    }
    expect(stored.size).toBe(expected);
    // Spot checks against the telegrams themselves.
    expect(stored.get(`electricity_import_t1|K8EG004046395507||${Date.parse('2017-01-02T19:20:02+01:00')}`)).toBe(4.426);
    expect(stored.get(`gas_value|2222ABCD123456789|1|${Date.parse('2017-01-02T16:10:05+01:00')}`)).toBe(0.107);
    expect(stored.get(`electricity_power_import|1ESY1336001560||${Date.parse(RECEIVED)}`)).toBeCloseTo(1.68821, 9);
  });

  it('a re-send overwrites instead of duplicating (VictoriaMetrics with -dedup.minScrapeInterval)', async () => {
    const sink = new InfluxV2Sink({ spec: spec(vm.url) });
    await sink.send(records());
    await sink.send(records());
    const series = await vm.export('{__name__="electricity_import_t1"}');
    const samples = series.reduce((n, s) => n + s.timestamps.length, 0);
    const distinct = new Set(series.flatMap((s) => s.timestamps.map((t) => `${JSON.stringify(s.metric)}${t}`)));
    expect(samples).toBe(distinct.size);
  });

  it('VictoriaMetrics stopped: P1_SINK_UNAVAILABLE; started again: delivered', async () => {
    const sink = new InfluxV2Sink({ spec: spec(vm.url), timeoutMs: 2000 });
    await vm.stop();
    try {
      const error = await sink.send(records()).catch((e: unknown) => e);
      expect(isP1Error(error, 'P1_SINK_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
    } finally {
      await vm.start();
    }
    await expect(sink.send(records())).resolves.toMatchObject({ requests: 1 });
  });

  it('answers real servers give on bad days reach the uploader classified: 429 + Retry-After, 400 with the reason, 401', async () => {
    // A stand-in for InfluxDB's error answers (documented in its API reference), which a healthy server never gives.
    const answers = [
      { status: 429, headers: { 'retry-after': '7' }, body: '' },
      { status: 400, headers: { 'content-type': 'application/json' }, body: '{"code":"invalid","message":"unable to parse line 3: bad timestamp"}' },
      { status: 401, headers: { 'content-type': 'application/json' }, body: '{"code":"unauthorized","message":"unauthorized access"}' },
      { status: 503, headers: {}, body: 'busy' },
    ];
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      req.on('end', () => {
        const answer = answers.shift()!;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const sink = new InfluxV2Sink({ spec: spec(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), token: 'tok-abcdef' });
      const fail = (): Promise<unknown> => sink.send(records()).catch((e: unknown) => e);
      const limited = await fail();
      expect(isP1Error(limited, 'P1_SINK_UNAVAILABLE')).toBe(true);
      expect((limited as { retryAfterMs?: number }).retryAfterMs).toBe(7000);
      const rejected = await fail();
      expect(isP1Error(rejected, 'P1_SINK_REJECTED')).toBe(true);
      expect((rejected as { reason?: string }).reason).toBe('unable to parse line 3: bad timestamp');
      expect(isP1Error(await fail(), 'P1_SINK_AUTH')).toBe(true);
      expect(isP1Error(await fail(), 'P1_SINK_UNAVAILABLE')).toBe(true);
      // One request per attempt: the client's own retries are off.
      expect(seen).toEqual(['Token tok-abcdef', 'Token tok-abcdef', 'Token tok-abcdef', 'Token tok-abcdef']);
    } finally {
      server.close();
    }
  });

  it('stopping cancels a write in flight, and sends leave no listener on the uploader\'s long-lived signal', async () => {
    const sink = new InfluxV2Sink({ spec: spec(vm.url) });
    const uploader = new AbortController();
    for (let i = 0; i < 3; i++) await sink.send(records(), uploader.signal);
    // A listener per request would keep every request and its body alive as long as the uploader runs.
    expect(getEventListeners(uploader.signal, 'abort')).toHaveLength(0);

    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const hung = createServer((req) => {
      req.resume();
      req.socket.on('close', closed);
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const stop = new AbortController();
      const hungSink = new InfluxV2Sink({ spec: spec(`http://127.0.0.1:${(hung.address() as AddressInfo).port}`), timeoutMs: 60_000 });
      const sending = hungSink.send(records(), stop.signal).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 200));
      stop.abort();
      expect(((await sending) as Error).name).toBe('AbortError');
      // The request itself ends (not only our wait for it): the server sees the connection go.
      await connectionClosed;
      expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    } finally {
      hung.closeAllConnections();
      hung.close();
    }
  });

  it('InfluxDB 1.6 has no /api/v2/write: P1_SINK_NOT_FOUND pointing at influxdb-v1:', async () => {
    const influxd = await Influxd.start();
    try {
      const error = await new InfluxV2Sink({ spec: spec(influxd.url), token: 'secret-token-1234' }).send(records()).catch((e: unknown) => e);
      expect(isP1Error(error, 'P1_SINK_NOT_FOUND')).toBe(true);
      expect((error as Error).message).toMatch(/HTTP 404.*influxdb-v1:/);
      expect((error as Error).message).not.toContain('secret-token-1234');
    } finally {
      await influxd.close();
    }
  });
});
