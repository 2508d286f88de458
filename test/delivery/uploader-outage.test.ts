import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { createSink } from '../../src/sinks/create.js';
import { parseSinkSpec } from '../../src/sinks/spec.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { Uploader } from '../../src/delivery/uploader.js';
import { Influxd } from '../support/influxd.js';
import { Victoria } from '../support/victoria.js';
import { until } from '../support/until.js';

/**
 * Outage: the database process is stopped while telegrams keep arriving, and started again later. Time is
 * compressed (a telegram every 10 ms carrying meter times 1 s apart; backoff capped at 200 ms), the behaviour is
 * the one of a real outage: every telegram arrives exactly once, at its original time.
 */
let influxd: Influxd;
let vm: Victoria;
beforeAll(async () => {
  [influxd, vm] = await Promise.all([Influxd.start(), Victoria.start()]);
  await influxd.createDatabase('p1');
});
afterAll(async () => {
  await Promise.all([influxd?.close(), vm?.close()]);
});

interface Scenario {
  sinkSpec: string;
  server: { stop(): Promise<void>; start(): Promise<void> };
  /** Meter time (ms) -> power_import as stored. */
  readBack(): Promise<Map<number, number>>;
}

async function outage(scenario: Scenario, startMs: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'p1logger-outage-'));
  const queue = await Queue.open(dir, { retentionIntervalMs: 0 });
  const meter = new VirtualMeter({ dsmr: '5', startMs });
  const sent = new Map<number, number>();
  let second = 0;
  let appending = true;
  const uploader = new Uploader({
    name: 'db',
    sink: createSink(parseSinkSpec(scenario.sinkSpec), { timeoutMs: 2000 }),
    log: queue,
    retry: { baseMs: 20, capMs: 200 },
    pollIntervalMs: 50,
  });
  // The acquisition side: a telegram every 10 ms, stored, then the uploader told.
  const acquisition = (async () => {
    while (appending) {
      const time = startMs + second++ * 1000;
      const raw = meter.telegramAt(time);
      sent.set(time, parseTelegram(raw).objects['1-0:1.7.0']!.value as number);
      await queue.append(raw, new Date(time));
      uploader.notify();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    uploader.start();
    await within(async () => (await queue.cursor('db')) >= 20);
    await scenario.server.stop();
    const stoppedAt = second;
    await within(() => uploader.stats().state === 'retrying');
    // Down for a while: telegrams keep arriving and wait in the queue (counted, not timed: load slows the loop).
    await within(() => second - stoppedAt > 50);
    expect(uploader.stats().state).toBe('retrying');
    await scenario.server.start();
    await new Promise((r) => setTimeout(r, 300));
    appending = false;
    await acquisition;
    const last = (await queue.status()).lastSeq!;
    await within(async () => (await queue.cursor('db')) === last);
    expect(uploader.stats()).toMatchObject({ state: 'ok', sent: last, deadLetters: 0 });
    expect(uploader.stats().retries).toBeGreaterThan(0);

    const stored = await scenario.readBack();
    expect(stored.size).toBe(sent.size);
    expect([...stored.keys()].sort((a, b) => a - b)).toEqual([...sent.keys()]);
    for (const [time, value] of sent) expect(stored.get(time), new Date(time).toISOString()).toBe(value);
  } finally {
    appending = false;
    await acquisition;
    await uploader.stop();
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Within 30 s. */
const within = (condition: () => boolean | Promise<boolean>): Promise<void> => until(condition, 'the uploader', 30_000);

describe('outage of the database while telegrams keep arriving', () => {
  it('InfluxDB 1.6 (influxdb-v1:) stopped and started again: every telegram once, at its time', async () => {
    await outage(
      {
        sinkSpec: `influxdb-v1:${influxd.url}?db=p1`,
        server: influxd,
        readBack: async () => {
          const rows = await influxd.rows('p1', 'electricity');
          return new Map(rows.map((r) => [Date.parse(String(r.time)), r.power_import as number]));
        },
      },
      Date.UTC(2024, 5, 1),
    );
  });

  it('VictoriaMetrics (influxdb: v2 API) stopped and started again: every telegram once, at its time', async () => {
    await outage(
      {
        sinkSpec: `influxdb:${vm.url}?org=-&bucket=p1`,
        server: vm,
        readBack: async () => {
          const series = await vm.export('{__name__="electricity_power_import"}');
          const out = new Map<number, number>();
          for (const s of series) s.timestamps.forEach((t, i) => out.set(t, s.values[i]!));
          expect(series.reduce((n, s) => n + s.timestamps.length, 0)).toBe(out.size);
          return out;
        },
      },
      Date.UTC(2024, 6, 1),
    );
  });
});
