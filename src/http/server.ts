import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseListen, type ListenAddress } from '../config/listen.js';
import { P1Error } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { listenOn } from '../net/listen.js';
import { loadAssets, type Asset } from './assets.js';
import { periodStarts, type HistoryProvider } from './history.js';
import { historyQuery, HistoryQueryError, uiAnswer, type HistoryApi } from './history-api.js';
import type { LiveSource } from './live.js';
import { LiveStream, type LiveClientStats } from './live-stream.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { buildReport, type StatusReport, type StatusSnapshot } from './status.js';

export interface StatusServerOptions {
  /** `HOST:PORT` as configured (http.listen); port 0 picks a free one. */
  listen: string | ListenAddress;
  /** Called on every request of /api/status, /metrics, /healthz and the page. */
  status: () => StatusSnapshot | Promise<StatusSnapshot>;
  /** Local history for the page's graph and kWh figures; without it those parts say "no history". */
  history?: HistoryProvider;
  /** Hour/day/month/year aggregates with costs, for /api/history and the dashboard (/api/ui). */
  aggregates?: HistoryApi;
  /** Each telegram, for the live graph (SSE at /api/live). */
  live?: LiveSource;
  /** Zone of "today" and "this month" (config timeZone). */
  timeZone?: string;
  logger?: Logger;
  /** Clock (ms), for tests. */
  now?: () => number;
  version?: string;
}

export interface StatusServer {
  /** `http://host:port` actually bound. */
  readonly url: string;
  readonly address: ListenAddress;
  /** The clients of /api/live (none without a live feed). */
  liveStats(): LiveClientStats;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
// No inline script or style, nothing from elsewhere: the page and uPlot are served from here.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, { 'Cache-Control': 'no-store' });
}

/**
 * The local HTTP face of p1logger: `/` (page), `/api/status`, `/api/power`, `/api/energy`, `/api/history`, `/api/ui`, `/api/live` (SSE),
 * `/metrics` (Prometheus), `/healthz` (200/503). Read-only: nothing here changes state.
 */
export async function createStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const listen = typeof options.listen === 'string' ? parseListen(options.listen) : options.listen;
  if (listen === null) throw new P1Error('P1_CONFIG_INVALID', `http.listen: ${JSON.stringify(options.listen)} is not HOST:PORT`);
  const log = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const timeZone = options.timeZone ?? 'Europe/Amsterdam';
  const assets = await loadAssets();
  const version = options.version ?? assets.version;
  const liveStream = options.live === undefined ? undefined : new LiveStream(options.live, { logger: log, headers: SECURITY_HEADERS });
  const loopbackOnly = isLoopbackHost(listen.host);

  async function report(): Promise<StatusReport> {
    const snapshot = await options.status();
    return buildReport(snapshot, { nowMs: now(), uptimeSeconds: process.uptime(), rssBytes: process.memoryUsage.rss(), pid: process.pid, version });
  }

  function serveAsset(res: ServerResponse, asset: Asset): void {
    send(res, 200, asset.type, asset.body, { 'Cache-Control': asset.cache, ...(asset.type.startsWith('text/html') ? { 'Content-Security-Policy': PAGE_CSP } : {}) });
  }

  function serveLive(req: IncomingMessage, res: ServerResponse): void {
    if (liveStream === undefined) return sendJson(res, 503, { error: 'no live feed' });
    if (!liveStream.accept(req, res)) return sendJson(res, 503, { error: 'too many live clients' });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A web page elsewhere can point its own host name at 127.0.0.1 (DNS rebinding) and read a loopback server:
    // on loopback, only loopback host names are answered.
    if (loopbackOnly && !isLoopbackHost(req.headers.host)) {
      return send(res, 403, 'text/plain; charset=utf-8', 'forbidden: this server answers only to localhost names\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: this server is read-only\n', { Allow: 'GET, HEAD' });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/':
        return serveAsset(res, assets.page);
      case '/api/status':
        return sendJson(res, 200, await report());
      case '/metrics':
        return send(res, 200, METRICS_CONTENT_TYPE, renderMetrics(await report()), { 'Cache-Control': 'no-store' });
      case '/healthz': {
        const { health, lastTelegramAgeSeconds, intervalSeconds } = await report();
        return sendJson(res, health.ok ? 200 : 503, { status: health.ok ? 'ok' : 'unhealthy', reasons: health.reasons, lastTelegramAgeSeconds, intervalSeconds });
      }
      case '/api/power': {
        if (options.history === undefined) return sendJson(res, 503, { error: 'no local history' });
        const minutes = Math.min(1440, Math.max(1, Number(url.searchParams.get('minutes') ?? 60) || 60));
        const points = await options.history.powerSeries(now() - minutes * 60_000);
        return sendJson(res, 200, { minutes, points: points.map((p) => [p.t, p.importKw, p.exportKw]), latest: points[points.length - 1] ?? null });
      }
      case '/api/energy': {
        if (options.history === undefined) return sendJson(res, 503, { error: 'no local history' });
        const { dayStartMs, monthStartMs } = periodStarts(now(), timeZone);
        const totals = await options.history.energyTotals(dayStartMs, monthStartMs);
        return sendJson(res, 200, { timeZone, dayStart: new Date(dayStartMs).toISOString(), monthStart: new Date(monthStartMs).toISOString(), ...totals });
      }
      case '/api/history': {
        if (options.aggregates === undefined) return sendJson(res, 503, { error: 'no history' });
        try {
          return sendJson(res, 200, await historyQuery(options.aggregates, url.searchParams, now()));
        } catch (error) {
          if (error instanceof HistoryQueryError) return sendJson(res, 400, { error: error.message });
          throw error;
        }
      }
      case '/api/ui':
        if (options.aggregates === undefined) return sendJson(res, 503, { error: 'no history' });
        return sendJson(res, 200, uiAnswer(options.aggregates, now()));
      case '/api/live':
        return serveLive(req, res);
      default: {
        const asset = assets.files.get(url.pathname);
        if (asset !== undefined) return serveAsset(res, asset);
        return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      }
    }
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      log.warn({ err: error, url: req.url }, 'status request failed');
      if (!res.headersSent) sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  // Slow or idle clients must not pile up on a Pi.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  const bound = await listenOn(server, listen, 'P1_HTTP_LISTEN', 'http.listen / --listen / P1LOGGER_HTTP_LISTEN').catch((error: unknown) => {
    liveStream?.close();
    throw error;
  });
  server.on('error', (error) => log.error({ err: error }, 'status server error'));

  const address: ListenAddress = { host: listen.host, port: bound.port };
  const hostForUrl = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info({ url: `http://${hostForUrl}:${bound.port}/` }, 'status page listening');

  return {
    url: `http://${hostForUrl}:${bound.port}`,
    address,
    liveStats: () => liveStream?.stats() ?? { clients: 0, dropped: 0, bufferedBytes: 0 },
    close: () =>
      new Promise<void>((resolve) => {
        liveStream?.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `localhost`, `127.x.y.z`, `::1` (bracketed or not), with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']') === -1 ? undefined : name.indexOf(']'));
  else if (name.split(':').length === 2) name = name.slice(0, name.indexOf(':'));
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}
