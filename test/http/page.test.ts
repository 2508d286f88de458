import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTelegram } from '../../src/telegram/parse.js';
import { baseSnapshot, startFixtureServer, type FixtureServer } from './fixture-server.js';
import { NOW, telegramFor, type Values } from './series.js';

// Debian's Chromium, headless, with nothing that phones home.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let fx: FixtureServer;
let profile: string;
let context: BrowserContext;
let page: Page;
const requested: string[] = [];

beforeAll(async () => {
  fx = await startFixtureServer();
  profile = await mkdtemp(join(tmpdir(), 'p1chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1100, height: 1400 } });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(`${fx.server.url}/`);
});

afterAll(async () => {
  await context?.close();
  await fx?.server.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

/** Numbers as the page shows them: nl-NL by default (decimal comma). */
function nl(value: number, digits: number): string {
  return new Intl.NumberFormat('nl-NL', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

async function texts(selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

// The page runs under its own strict Content-Security-Policy (no eval), so the tests read it with evaluate and
// locators (which the CSP does not cover) and poll from here, instead of page.waitForFunction.
describe('status page in headless Chromium', () => {
  it('loads everything from this server only', async () => {
    await expect.poll(() => page.evaluate<boolean>('window.p1logger?.chart != null')).toBe(true);
    expect(await page.title()).toBe('p1logger');
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => !url.startsWith(fx.server.url))).toEqual([]);
  });

  it('draws the last hour of power: the graph holds every point and its canvas has the import line', async () => {
    const hour = fx.values.filter((v) => v.t >= NOW - 3600_000);
    await expect.poll(() => page.evaluate<number>('window.p1logger.chart.data[0].length')).toBe(hour.length);
    const series = await page.evaluate<{ x: number[]; imp: number[]; exp: number[] }>('({ x: window.p1logger.chart.data[0], imp: window.p1logger.chart.data[1], exp: window.p1logger.chart.data[2] })');
    expect(series.x).toEqual(hour.map((v) => v.t / 1000));
    expect(series.imp).toEqual(hour.map((v) => v.powerImport));
    expect(series.exp).toEqual(hour.map((v) => v.powerExport));
    // Pixels in the import colour (#d9480f) prove the line was drawn, not just the data handed over.
    const importPixels = await page.evaluate<number>(`(() => {
      const canvas = document.querySelector('#chart canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - 0xd9) < 12 && Math.abs(data[i + 1] - 0x48) < 12 && Math.abs(data[i + 2] - 0x0f) < 12) n++;
      return n;
    })()`);
    expect(importPixels).toBeGreaterThan(200);
  });

  it('says so where it has no history (a server without one), and still shows the live part', async () => {
    expect(await texts('#energy-day td')).toEqual(['–', '–', '–', '–', '–', '–']);
  });

  it('shows the current power, the last telegram age, the CRC error rate and the sinks', async () => {
    const last = fx.values[fx.values.length - 1]!;
    await expect.poll(() => page.locator('#sinks tbody tr').count()).toBe(2);
    expect(await page.textContent('#import-kw')).toBe(nl(last.powerImport, 3));
    expect(await page.textContent('#export-kw')).toBe(nl(last.powerExport, 3));
    // The page counts the age on from its last status fetch (every 5 s): under load a check can land late in that
    // cycle, so wait for a fetch rather than hope for one.
    await expect.poll(() => page.textContent('#last-age'), { timeout: 15_000 }).toMatch(/^[5-7] s ago$/);
    // 4 CRC errors in 365 judged telegrams.
    expect(await page.textContent('#crc-rate')).toBe(`${nl((4 / 365) * 100, 2)} %`);
    expect(await page.textContent('#crc-counts')).toBe('4 of 365 telegrams');
    expect(await texts('#sinks tbody tr[data-sink="cosm"] td')).toEqual(['cosm', 'retrying', '12', '2 min 0 s', '9', '1', '5', '7', 'HTTP 503 from cosm:http://127.0.0.1:9/v2/feeds/1']);
    expect(await texts('#sinks tbody tr[data-sink="influx"] td')).toEqual(['influx', 'ok', '0', '0 s', '3', '0', '0', '0', '']);
    expect(await page.textContent('#health')).toBe('healthy');
  });

  it('adds each new telegram to the graph as it arrives (SSE)', async () => {
    const last = fx.values[fx.values.length - 1]!;
    const next: Values = { ...last, t: NOW + 10_000, powerImport: 2.345, powerExport: 0 };
    fx.live.publish(parseTelegram(telegramFor(next)), new Date(NOW + 10_000));
    await expect.poll(() => page.textContent('#import-kw')).toBe('2,345');
    const tail = await page.evaluate<{ x: number; imp: number; first: number; length: number }>(
      '(([xs, imp]) => ({ x: xs.at(-1), imp: imp.at(-1), first: xs[0], length: xs.length }))(window.p1logger.chart.data)',
    );
    expect(tail.x).toBe((NOW + 10_000) / 1000);
    expect(tail.imp).toBe(2.345);
    // The window is one hour: the oldest point slid out as the new one came in.
    expect(tail.first).toBe((NOW - 3600_000 + 10_000) / 1000);
    expect(tail.length).toBe(361);
    expect(await page.textContent('#last-age')).toMatch(/^[01] s ago$/);
  });

  it('turns the health badge red with the reason when a sink fails', async () => {
    const snapshot = baseSnapshot();
    snapshot.sinks[1]!.state = 'failing';
    snapshot.sinks[1]!.lastError = 'HTTP 401: bad API key';
    fx.snapshot = snapshot;
    await expect.poll(() => page.textContent('#health'), { timeout: 15_000 }).toBe('unhealthy');
    expect(await page.textContent('#health-reasons')).toBe('sink cosm is failing: HTTP 401: bad API key');
    expect(await page.getAttribute('#sinks tbody tr[data-sink="cosm"] td:nth-child(2)', 'class')).toBe('state-failing');
    if (process.env.P1LOGGER_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.P1LOGGER_SCREENSHOT, fullPage: true });
  });
});
