import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { createStatusServer } from '../../src/http/server.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { baseSnapshot, startFixtureServer, type FixtureServer } from './fixture-server.js';
import { DAY_START, MONTH_START, NOW, telegramFor, type Values } from './series.js';

let fx: FixtureServer;

beforeAll(async () => {
  fx = await startFixtureServer();
});
afterAll(async () => {
  await fx.server.close();
});

async function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fx.server.url}${path}`, init);
}

/** promtool (Prometheus' own checker, Debian package prometheus) on the text; returns its exit code and output. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

function expectedTotals(values: Values[], startMs: number) {
  const latest = values[values.length - 1]!;
  const base = values.filter((v) => v.t <= startMs).pop()!;
  const d = (a: number, b: number): number => Math.round((a - b) * 1000) / 1000;
  return {
    importT1: d(latest.importT1, base.importT1),
    importT2: d(latest.importT2, base.importT2),
    exportT1: d(latest.exportT1, base.exportT1),
    exportT2: d(latest.exportT2, base.exportT2),
    gasM3: d(latest.gas, base.gas),
  };
}

describe('/api/status', () => {
  it('returns the snapshot with the derived figures', async () => {
    fx.snapshot = baseSnapshot();
    const res = await get('/api/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      framer: { telegrams: 361, crcErrors: 4, invalid: 1, truncated: 2, junkBytes: 77 },
      source: { state: 'open', reconnects: 2 },
      queue: { records: 363, bytesOnDisk: 5_242_880 },
      lastTelegramAgeSeconds: 5,
      crcErrorRate: 4 / 365,
      health: { ok: true, reasons: [] },
      now: new Date(NOW).toISOString(),
    });
    expect((body.process as { rssBytes: number }).rssBytes).toBeGreaterThan(10_000_000);
    expect((body.sinks as unknown[])[1]).toMatchObject({ name: 'cosm', state: 'retrying', lagRecords: 12, deadLetters: 1, dropped: 5 });
  });
});

describe('/metrics', () => {
  it('is valid Prometheus text format with HELP and TYPE for every family (promtool check metrics)', async () => {
    fx.snapshot = baseSnapshot();
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const checked = await promtool(text);
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
  });

  it('carries the counters, queue and per-sink figures under the p1logger_ prefix', async () => {
    fx.snapshot = baseSnapshot();
    const text = await (await get('/metrics')).text();
    const lines = text.split('\n');
    for (const expected of [
      'p1logger_telegrams_total 361',
      'p1logger_crc_errors_total 4',
      'p1logger_junk_bytes_total 77',
      'p1logger_source_reconnects_total 2',
      'p1logger_source_state{state="open"} 1',
      'p1logger_queue_records 363',
      'p1logger_queue_bytes 5242880',
      'p1logger_last_telegram_age_seconds 5',
      'p1logger_sink_lag_records{sink="cosm"} 12',
      'p1logger_sink_lag_seconds{sink="cosm"} 120',
      'p1logger_sink_retries_total{sink="cosm"} 9',
      'p1logger_sink_dead_letters{sink="cosm"} 1',
      'p1logger_sink_dropped_total{sink="cosm"} 5',
      'p1logger_sink_skipped_total{sink="cosm"} 7',
      'p1logger_sink_state{sink="cosm",state="retrying"} 1',
      'p1logger_sink_state{sink="influx",state="ok"} 1',
      'p1logger_healthy 1',
    ]) {
      expect(lines).toContain(expected);
    }
    expect(lines.some((l) => /^p1logger_resident_memory_bytes \d+$/.test(l))).toBe(true);
    expect(lines.some((l) => /^p1logger_uptime_seconds [\d.]+$/.test(l))).toBe(true);
    // Every sample line is ours.
    expect(lines.filter((l) => l !== '' && !l.startsWith('#')).every((l) => l.startsWith('p1logger_'))).toBe(true);
  });

  it('escapes label values and still passes promtool; before any telegram the time gauges are left out', async () => {
    const snapshot = baseSnapshot();
    snapshot.sinks[0]!.name = 'we"ird\\name';
    snapshot.lastTelegramAt = null;
    fx.snapshot = snapshot;
    const text = await (await get('/metrics')).text();
    expect(text).toContain('p1logger_sink_lag_records{sink="we\\"ird\\\\name"} 0');
    expect(text).not.toMatch(/^p1logger_last_telegram_age_seconds /m);
    expect(text).toContain('# TYPE p1logger_last_telegram_age_seconds gauge');
    expect((await promtool(text)).code).toBe(0);
  });
});

describe('/healthz', () => {
  async function health(): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
    const res = await get('/healthz');
    return { status: res.status, body: (await res.json()) as { status: string; reasons: string[] } };
  }

  it('goes 200 -> 503 -> 200 as telegrams stop for 3x the interval and come back, and 503 for a failing sink', async () => {
    const snapshot = baseSnapshot();
    fx.snapshot = snapshot;
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok', reasons: [] } });

    snapshot.lastTelegramAt = new Date(NOW - 29_000).toISOString();
    expect((await health()).status).toBe(200);
    snapshot.lastTelegramAt = new Date(NOW - 31_000).toISOString();
    const stale = await health();
    expect(stale.status).toBe(503);
    expect(stale.body.reasons).toEqual(['no telegram for 31 s (expected one every 10 s)']);

    snapshot.lastTelegramAt = new Date(NOW - 1000).toISOString();
    expect((await health()).status).toBe(200);

    snapshot.sinks[1]!.state = 'failing';
    snapshot.sinks[1]!.lastError = 'HTTP 401: bad API key';
    const failing = await health();
    expect(failing.status).toBe(503);
    expect(failing.body.reasons).toEqual(['sink cosm is failing: HTTP 401: bad API key']);

    snapshot.sinks[1]!.state = 'retrying';
    expect((await health()).status).toBe(200);
  });

  it('before the first telegram: healthy while starting, 503 once 3x the interval has passed since start', async () => {
    const snapshot = baseSnapshot();
    snapshot.lastTelegramAt = null;
    snapshot.intervalSeconds = 1e6;
    fx.snapshot = snapshot;
    expect((await health()).status).toBe(200);
    snapshot.intervalSeconds = 0.001;
    const late = await health();
    expect(late.status).toBe(503);
    expect(late.body.reasons[0]).toMatch(/^no telegram since start \d+ s ago/);
  });
});

describe('history endpoints', () => {
  it('/api/power gives the last hour of power readings', async () => {
    const body = (await (await get('/api/power?minutes=60')).json()) as { points: Array<[number, number, number]> };
    const hour = fx.values.filter((v) => v.t >= NOW - 3600_000);
    expect(body.points).toHaveLength(hour.length);
    expect(body.points).toEqual(hour.map((v) => [v.t, v.powerImport, v.powerExport]));
  });

  it("/api/energy gives today's and this month's kWh per tariff and gas m3, in the configured zone", async () => {
    const body = (await (await get('/api/energy')).json()) as Record<string, unknown>;
    expect(body.dayStart).toBe(new Date(DAY_START).toISOString());
    expect(body.monthStart).toBe(new Date(MONTH_START).toISOString());
    expect(body.day).toMatchObject(expectedTotals(fx.values, DAY_START));
    expect(body.month).toMatchObject(expectedTotals(fx.values, MONTH_START));
    expect(body.day).toMatchObject({ importT1: 1.11, importT2: 3, exportT1: 0.555, exportT2: 0.5, gasM3: 0.745 });
  });
});

describe('/api/live (server-sent events)', () => {
  it('sends one power event per published telegram', async () => {
    const events: string[] = [];
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      request(`${fx.server.url}/api/live`, resolve).on('error', reject).end();
    });
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const got = new Promise<void>((resolve) => {
      let buffer = '';
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n\n');
        buffer = parts.pop()!;
        for (const part of parts) if (part.startsWith('event: power')) events.push(part);
        if (events.length === 2) resolve();
      });
    });
    const v: Values = { ...fx.values[fx.values.length - 1]!, t: NOW + 10_000, powerImport: 2.345, powerExport: 0 };
    fx.live.publish(parseTelegram(telegramFor(v)), new Date(NOW + 10_000));
    fx.live.publish(parseTelegram(telegramFor({ ...v, t: NOW + 20_000, powerImport: 0, powerExport: 1.5 })), new Date(NOW + 20_000));
    await got;
    res.destroy();
    // Each event also carries the phases (for the dashboard's per-phase figures).
    expect(events.map((e) => JSON.parse(e.split('data: ')[1]!) as unknown)).toMatchObject([
      { t: NOW + 10_000, importKw: 2.345, exportKw: 0, phases: [{ voltage: 230 }, {}, {}] },
      { t: NOW + 20_000, importKw: 0, exportKw: 1.5 },
    ]);
    expect(fx.live.lastTelegramAt).toBe(new Date(NOW + 20_000).toISOString());
    expect(fx.live.intervalSeconds).toBe(10);
  });
});

describe('page and static files', () => {
  it('serves the page with a strict CSP and only local scripts and styles', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toContain('/static/uPlot.iife.min.js');
    expect(refs.filter((r) => r.startsWith('http') || r.startsWith('//'))).toEqual([]);
  });

  it('serves uPlot from the installed npm package, byte for byte', async () => {
    const require = createRequire(import.meta.url);
    for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) {
      const res = await get(`/static/${name}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(await readFile(require.resolve(`uplot/dist/${name}`)))).toBe(true);
    }
  });

  it('answers 404 for unknown paths and 405 for anything but GET and HEAD', async () => {
    expect((await get('/nope')).status).toBe(404);
    const post = await get('/api/status', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get('/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('listening', () => {
  it('a port in use is P1_HTTP_LISTEN naming the address and the settings to change', async () => {
    const error: unknown = await createStatusServer({ listen: fx.server.address, status: baseSnapshot }).catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_HTTP_LISTEN')).toBe(true);
    expect((error as Error).message).toContain(`127.0.0.1:${fx.server.address.port}: address in use`);
    expect((error as Error).message).toContain('http.listen');
  });

  it('without history or live feed, those endpoints say so (503) and the rest works', async () => {
    const bare = await createStatusServer({ listen: '127.0.0.1:0', status: baseSnapshot });
    try {
      expect((await fetch(`${bare.url}/api/energy`)).status).toBe(503);
      expect((await fetch(`${bare.url}/api/live`)).status).toBe(503);
      expect((await fetch(`${bare.url}/api/status`)).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('DNS rebinding guard', () => {
  it('a loopback server answers only to loopback host names', async () => {
    const server = await createStatusServer({ listen: '127.0.0.1:0', status: () => baseSnapshot() });
    try {
      const port = new URL(server.url).port;
      const ask = (host: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/api/status', headers: { Host: host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await ask(`localhost:${port}`)).toBe(200);
      expect(await ask(`127.0.0.1:${port}`)).toBe(200);
      expect(await ask(`[::1]:${port}`)).toBe(200);
      expect(await ask(`attacker.example:${port}`)).toBe(403);
    } finally {
      await server.close();
    }
  });
});
