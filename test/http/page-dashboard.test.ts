import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryAnswer } from '../../src/history/view.js';
import { runCli, watchCli, type WatchedCli } from '../support/cli.js';
import { freePort } from '../support/free-port.js';

/**
 * The dashboard in Debian's Chromium over 400 days of simulated telegrams, imported and served by a real
 * `p1logger run`. One telegram per 5 minutes keeps this test within about a minute on a busy 2-core machine (the
 * history has the same rows: 9,600 hours, 400 days, 14 months); `npm run soak` (SOAK=1) imports one per 10 s, as a
 * DSMR 4 meter sends them (3.5 million telegrams, some ten minutes). Screenshots go to P1LOGGER_SCREENSHOT_DIR.
 */
const INTERVAL_S = Number(process.env.P1LOGGER_PAGE_INTERVAL ?? (process.env.SOAK === '1' ? 10 : 300));
const DAYS = 400;
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Series colours of app.js: import T1 and T2, export, gas; the live chart's import line. */
const COLORS = { t1: [0x1c, 0x7e, 0xd6], t2: [0xd9, 0x48, 0x0f], export: [0x2b, 0x8a, 0x3e], gas: [0xae, 0x3e, 0xc9] };

let dir: string;
let service: WatchedCli;
let base: string;
let browser: Browser;
const cleanups: Array<() => Promise<void>> = [];
const shots = process.env.P1LOGGER_SCREENSHOT_DIR;

/** Waits (in hooks, where expect.poll is not allowed) until `check` holds. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1dashboard-'));
  const count = (DAYS * 86_400) / INTERVAL_S;
  // Ends just before now, on the interval, 5 s past (a reading on the hour closes the hour before).
  const start = new Date(Math.floor((Date.now() - DAYS * 86_400_000) / (INTERVAL_S * 1000)) * INTERVAL_S * 1000 + 5000).toISOString();
  const capture = join(dir, 'capture.txt');
  const simulated = await runCli(['simulate', '--fast', '--interval', String(INTERVAL_S), '--count', String(count), '--start', start, '--out', capture], { timeoutMs: 3_600_000 });
  expect(simulated.code).toBe(0);
  const imported = await runCli(['import', capture, '--data-dir', join(dir, 'data')], { timeoutMs: 3_600_000 });
  expect(imported.stderr).toMatch(/history rebuilt/);
  expect(imported.code).toBe(0);

  const port = await freePort();
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      // A meter that is not there: the service keeps trying, the page shows what was imported.
      `source: tcp:127.0.0.1:${await freePort()}`,
      `dataDir: ${join(dir, 'data')}`,
      `http: { listen: "127.0.0.1:${port}" }`,
      'tariffs:',
      '  import: [{ from: "2020-01-01", t1: 0.21, t2: 0.24 }]',
      '  export: [{ from: "2020-01-01", price: 0.07 }]',
      '  gas: [{ from: "2020-01-01", price: 1.35 }]',
      '  fixedPerDay: [{ from: "2020-01-01", price: 0.95 }]',
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  service = watchCli(['run', '--config', config], cleanups);
  base = `http://127.0.0.1:${port}`;
  await waitFor('the service to serve the history', async () => {
    const res = await fetch(`${base}/api/history?resolution=day&from=${start.slice(0, 10)}`);
    return res.ok && ((await res.json()) as HistoryAnswer).rows.length >= DAYS - 1;
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  for (const cleanup of cleanups) await cleanup();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Pixels of `rgb` (within a small tolerance) on a canvas under `selector`. */
function pixels(page: Page, selector: string, rgb: number[]): Promise<number> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)} + ' canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - ${rgb[0]}) < 10 && Math.abs(data[i + 1] - ${rgb[1]}) < 10 && Math.abs(data[i + 2] - ${rgb[2]}) < 10) n++;
    return n;
  })()`);
}

const nl = (value: number, digits: number): string => new Intl.NumberFormat('nl-NL', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);

describe.each([
  [1280, 900],
  [390, 844],
])('dashboard at %i x %i with 400 days of history', (width, height) => {
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width, height } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await waitFor('the charts', () => page.evaluate<boolean>('!!(window.p1logger.charts.months && window.p1logger.charts.days && window.p1logger.charts.hours)'));
  });

  afterAll(async () => {
    if (shots !== undefined) await page.screenshot({ path: join(shots, `dashboard-${width}.png`), fullPage: true });
    await page.close();
  });

  it('has no element wider than the screen and no horizontal scrolling', async () => {
    const wide = await page.evaluate<string[]>(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > ${width} + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className)`);
    expect(wide).toEqual([]);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
  });

  it('draws every series of every chart', async () => {
    await expect.poll(() => page.evaluate<number>('window.p1logger.chart.data[0].length'), { timeout: 30_000 }).toBeGreaterThan(1);
    await expect.poll(() => pixels(page, '#chart', COLORS.t2)).toBeGreaterThan(50);
    // Early in a month "this month" has a day or two: the last 30 days have bars of every kind.
    await page.click('#days-toggle button[data-mode="30"]');
    for (const chart of ['#chart-days', '#chart-months']) {
      for (const [name, rgb] of Object.entries(COLORS)) expect({ chart, name, drawn: (await pixels(page, chart, rgb)) > 20 }).toEqual({ chart, name, drawn: true });
    }
    // Today's hours so far: at least the hour that is running has a bar.
    expect(await pixels(page, '#chart-hours', COLORS.t1) + (await pixels(page, '#chart-hours', COLORS.t2))).toBeGreaterThan(0);
  });

  it("shows yesterday's and this month's figures as the API gives them, and a tapped bar's", async () => {
    const ui = await api<{ today: string }>('/api/ui');
    const yesterday = new Date(Date.parse(`${ui.today}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const day = (await api<HistoryAnswer>(`/api/history?resolution=day&from=${yesterday}&to=${ui.today}`)).rows[0]!;
    expect(day.telegrams).toBe(86_400 / INTERVAL_S);
    const cost = new Intl.NumberFormat('nl-NL', { style: 'currency', currency: 'EUR' }).format(day.cost!.total);
    const expected = [nl(day.importT1, 3), nl(day.importT2, 3), nl(day.exportT1, 3), nl(day.exportT2, 3), nl(day.gas!, 3), cost];
    await expect.poll(() => page.locator('#energy-yesterday td').allTextContents()).toEqual(expected);
    const month = (await api<HistoryAnswer>(`/api/history?resolution=month&from=${ui.today.slice(0, 7)}`)).rows[0]!;
    expect((await page.locator('#energy-month td').allTextContents()).slice(0, 2)).toEqual([nl(month.importT1, 3), nl(month.importT2, 3)]);

    // The last 30 days, then a tap on yesterday's bar (the second from the right).
    await page.click('#days-toggle button[data-mode="30"]');
    const box = (await page.locator('#chart-days .u-over').boundingBox())!;
    await page.mouse.click(box.x + box.width * (28.5 / 30), box.y + box.height / 2);
    await expect.poll(() => page.textContent('#detail-days')).toContain(`normal ${nl(day.importT2, 3)} kWh`);
    expect(await page.textContent('#detail-days')).toContain(`gas ${nl(day.gas!, 3)} m³`);
  });

  it('logs no error in the console', () => {
    expect(errors).toEqual([]);
    expect(service.stderr()).not.toMatch(/"level":50/);
  });
});
