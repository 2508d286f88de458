import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTRICITY_FIELDS, telegramToPoints } from '../../src/sinks/points.js';
import { toLines } from '../../src/sinks/line-protocol.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { Influxd } from '../support/influxd.js';
import { repoRoot } from '../support/cli.js';
import { DAY_START, series, telegramFor } from '../http/series.js';

interface Target {
  refId: string;
  query: string;
  rawQuery: boolean;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  __inputs: Array<{ name: string; pluginId: string }>;
  templating: { list: Array<{ name: string; current: { value: string } }> };
}

let dashboard: Dashboard;
let targets: Array<Target & { panel: string }>;

beforeAll(async () => {
  dashboard = JSON.parse(await readFile(join(repoRoot, 'deploy/grafana/p1logger-dashboard.json'), 'utf8')) as Dashboard;
  targets = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ ...t, panel: p.title })));
});

/** The fields each measurement of the points mapping (src/sinks/points.ts) can have. */
function producedFields(measurement: string): Set<string> {
  if (measurement === 'electricity') return new Set([...ELECTRICITY_FIELDS.values()].map((m) => m.field));
  return new Set(['value']);
}

describe('deploy/grafana/p1logger-dashboard.json', () => {
  it('is an importable dashboard: unique panel ids, one InfluxDB input, InfluxQL targets', () => {
    expect(dashboard.uid).toBe('p1logger-meter');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_INFLUXDB', pluginId: 'influxdb' })]);
    expect(targets.length).toBeGreaterThan(5);
    for (const t of targets) {
      expect(t.rawQuery, t.panel).toBe(true);
      expect(t.datasource).toEqual({ type: 'influxdb', uid: '${DS_INFLUXDB}' });
    }
    expect(dashboard.panels.map((p) => p.title)).toEqual(expect.arrayContaining(['Power', 'Electricity per day', 'Gas per day', 'Voltages']));
  });

  it('queries only measurements and fields that the points mapping produces', () => {
    for (const t of targets) {
      const measurement = /FROM "(\w+)"/.exec(t.query)?.[1];
      expect(['electricity', 'gas'], t.query).toContain(measurement);
      const fields = [...t.query.matchAll(/\(\s*"(\w+)"\s*\)/g)].map((m) => m[1]!);
      expect(fields.length, t.query).toBeGreaterThan(0);
      for (const field of fields) expect([...producedFields(measurement!)], `${t.panel}: ${field}`).toContain(field);
    }
  });
});

describe('the dashboard queries against a real InfluxDB 1.6 holding p1logger points', () => {
  let influx: Influxd | undefined;
  let url: string;

  beforeAll(async () => {
    influx = await Influxd.start();
    url = influx.url;
    await query('CREATE DATABASE p1', 'POST');
    // The same telegrams the status page tests use, mapped by the sinks' own points code.
    const lines = toLines(series().flatMap((v) => telegramToPoints(parseTelegram(telegramFor(v)), new Date(v.t).toISOString())), 'ms');
    const write = await fetch(`${url}/write?db=p1&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(write.status).toBe(204);
  }, 60_000);

  afterAll(async () => {
    await influx?.close();
  });

  async function query(q: string, method: 'GET' | 'POST' = 'GET'): Promise<{ results: Array<{ error?: string; series?: Array<{ name: string; columns: string[]; values: Array<Array<number | string | null>> }> }> }> {
    const params = new URLSearchParams({ db: 'p1', q, epoch: 'ms' });
    const res = await fetch(`${url}/query?${params.toString()}`, { method });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Awaited<ReturnType<typeof query>>;
  }

  /** What Grafana substitutes before sending a query: the dashboard's range, interval and variables. */
  function substitute(q: string): string {
    const zone = dashboard.templating.list.find((v) => v.name === 'timezone')!.current.value;
    return q
      .replace('$timeFilter', "time >= '2024-12-31T00:00:00Z' AND time <= '2025-01-16T00:00:00Z'")
      .replace('$__interval', '1m')
      .replace("'$timezone'", `'${zone}'`);
  }

  it('every query is valid InfluxQL and returns data', async () => {
    for (const t of targets) {
      const result = await query(substitute(t.query));
      expect(result.results[0]?.error, `${t.panel}: ${t.query}`).toBeUndefined();
      const values = result.results[0]?.series?.[0]?.values ?? [];
      expect(values.some((row) => typeof row[1] === 'number'), `${t.panel}: ${t.query} returned no numbers`).toBe(true);
    }
  });

  it('the per-day panel gives the day\'s kWh: the last reading of the day minus that of the day before', async () => {
    const target = targets.find((t) => t.panel === 'Electricity per day' && t.query.includes('"import_t1"'))!;
    const result = await query(substitute(target.query));
    const rows = result.results[0]!.series![0]!.values;
    const today = rows.find((row) => row[0] === DAY_START);
    const values = series();
    const lastOf = (end: number): number => values.filter((v) => v.t < end).pop()!.importT1;
    expect(today?.[1]).toBeCloseTo(lastOf(DAY_START + 86_400_000) - lastOf(DAY_START), 6);
  });
});
