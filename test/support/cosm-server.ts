import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Cosm (Pachube -> Cosm -> Xively) API v2 compatible feed server for tests, written from the API description in
 * design.md: `X-ApiKey` on every request, `PUT /v2/feeds/FEED.json` (or `POST ...?_method=put`) with current values
 * (creates datastreams), `POST /v2/feeds/FEED/datastreams/ID/datapoints.json` with `{"datapoints":[{at, value}]}`.
 * A datapoint for a time a datastream already has replaces it. It checks the key, the JSON shape and the timestamps,
 * and can be told to fail: answer a status (500, 429 with Retry-After), refuse one time (400), or hang.
 */
export interface CosmRequest {
  method: string;
  path: string;
  status: number | null;
  /** When it arrived, ms since epoch. */
  at: number;
  apiKey: string | undefined;
  datapoints: number;
}

interface Stored {
  at: string;
  value: string;
}

interface Datastream {
  current: Stored | undefined;
  points: Map<number, Stored>;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
export const COSM_MAX_DATAPOINTS_PER_REQUEST = 500;

export class CosmServer {
  readonly requests: CosmRequest[] = [];
  private readonly feeds = new Map<string, Map<string, Datastream>>();
  private apiKey: string;
  private server: Server;
  private port = 0;
  private failures: Array<{ status: number; retryAfter?: string; body?: string }> = [];
  private readonly rejected = new Map<number, string>();
  private hanging = false;
  private readonly held = new Set<ServerResponse>();

  private constructor(apiKey: string, feeds: string[]) {
    this.apiKey = apiKey;
    for (const feed of feeds) this.feeds.set(feed, new Map());
    this.server = this.createServer();
  }

  static async start(options: { apiKey: string; feeds: string[] }): Promise<CosmServer> {
    const server = new CosmServer(options.apiKey, options.feeds);
    await server.listen();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Forgets the failures it was told to answer with, and answers again (the stored data stays). */
  reset(apiKey: string = this.apiKey): void {
    this.failures = [];
    this.rejected.clear();
    this.hang(false);
    this.apiKey = apiKey;
  }

  /** The key it accepts from now on (a key fixed at the server: the sink's old key stops working, or starts to). */
  setApiKey(key: string): void {
    this.apiKey = key;
  }

  /** The next `count` requests get this answer (after the API key check). */
  failNext(count: number, answer: { status: number; retryAfter?: string; body?: string }): void {
    for (let i = 0; i < count; i++) this.failures.push(answer);
  }

  /** Any request carrying a datapoint (or current value) at this time is refused with 400 and `reason`. */
  rejectTime(timeMs: number, reason: string): void {
    this.rejected.set(timeMs, reason);
  }

  /** While on, requests are read and never answered (the client's timeout is what ends them). */
  hang(on: boolean): void {
    this.hanging = on;
    if (!on) {
      for (const response of this.held) response.destroy();
      this.held.clear();
    }
  }

  datastreams(feed: string): string[] {
    return [...(this.feeds.get(feed)?.keys() ?? [])].sort();
  }

  /** Stored datapoints of a datastream in time order. */
  datapoints(feed: string, datastream: string): Array<{ at: string; value: string; timeMs: number }> {
    const stream = this.feeds.get(feed)?.get(datastream);
    if (stream === undefined) return [];
    return [...stream.points].sort(([a], [b]) => a - b).map(([timeMs, p]) => ({ ...p, timeMs }));
  }

  current(feed: string, datastream: string): Stored | undefined {
    return this.feeds.get(feed)?.get(datastream)?.current;
  }

  /** Closes the port and every connection (an outage); start() listens again on the same port. */
  async stop(): Promise<void> {
    this.hang(false);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async start(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  close(): Promise<void> {
    return this.stop();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private createServer(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const header = req.headers['x-apikey'] ?? req.headers['x-pachubeapikey'];
    const entry: CosmRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      status: null,
      at: Date.now(),
      apiKey: typeof header === 'string' ? header : undefined,
      datapoints: 0,
    };
    this.requests.push(entry);
    const answer = (status: number, json?: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(json === undefined ? '' : JSON.stringify(json));
    };
    if (this.hanging) {
      this.held.add(res);
      return;
    }
    if (entry.apiKey !== this.apiKey) return answer(401, { title: 'Not authorized', errors: 'You do not have permission to access this resource' });
    const failure = this.failures.shift();
    if (failure !== undefined) {
      entry.status = failure.status;
      res.writeHead(failure.status, { 'content-type': 'application/json', ...(failure.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter }) });
      res.end(failure.body ?? JSON.stringify({ title: 'Failure', errors: `test failure ${failure.status}` }));
      return;
    }

    const url = new URL(req.url ?? '/', 'http://cosm.test');
    const method = req.method === 'POST' && url.searchParams.get('_method') === 'put' ? 'PUT' : req.method;
    const feedUpdate = /^\/v2\/feeds\/([^/]+)\.json$/.exec(url.pathname);
    const datapointsPost = /^\/v2\/feeds\/([^/]+)\/datastreams\/([^/]+)\/datapoints\.json$/.exec(url.pathname);
    const feedId = decodeURIComponent((feedUpdate ?? datapointsPost)?.[1] ?? '');
    const feed = this.feeds.get(feedId);
    if ((feedUpdate === null || method !== 'PUT') && (datapointsPost === null || method !== 'POST')) {
      return answer(404, { title: 'Not found', errors: `no such resource: ${method ?? ''} ${url.pathname}` });
    }
    if (feed === undefined) return answer(404, { title: 'Not found', errors: `feed ${feedId} does not exist` });

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return answer(400, { title: 'JSON Parser Error', errors: 'the body is not JSON' });
    }
    const problem = (message: string): void => answer(422, { title: 'Unprocessable Entity', errors: message });

    if (feedUpdate !== null) {
      const streams = (json as { datastreams?: unknown }).datastreams;
      if (!Array.isArray(streams) || streams.length === 0) return problem('"datastreams" must be a non-empty array');
      const updates: Array<{ id: string; stored: Stored; timeMs: number | undefined }> = [];
      for (const [i, s] of streams.entries()) {
        const { id, current_value: value, at } = (s ?? {}) as { id?: unknown; current_value?: unknown; at?: unknown };
        if (typeof id !== 'string' || !ID.test(id)) return problem(`datastreams[${i}].id ${JSON.stringify(id)} is not a datastream id`);
        const text = valueText(value);
        if (text === undefined) return problem(`datastreams[${i}].current_value ${JSON.stringify(value)} is not a number`);
        const timeMs = at === undefined ? undefined : timeOf(at);
        if (timeMs === null) return problem(`datastreams[${i}].at ${JSON.stringify(at)} is not an ISO 8601 time`);
        const reason = timeMs === undefined ? undefined : this.rejected.get(timeMs);
        if (reason !== undefined) return answer(400, { title: 'Bad Request', errors: reason });
        updates.push({ id, stored: { at: typeof at === 'string' ? at : new Date().toISOString(), value: text }, timeMs });
      }
      for (const u of updates) {
        const stream = streamOf(feed, u.id);
        stream.current = u.stored;
        if (u.timeMs !== undefined) stream.points.set(u.timeMs, u.stored);
      }
      entry.datapoints = updates.length;
      return answer(200);
    }

    const stream = feed.get(decodeURIComponent(datapointsPost![2]!));
    if (stream === undefined) return answer(404, { title: 'Not found', errors: `datastream ${datapointsPost![2]!} does not exist` });
    const points = (json as { datapoints?: unknown }).datapoints;
    if (!Array.isArray(points) || points.length === 0) return problem('"datapoints" must be a non-empty array');
    if (points.length > COSM_MAX_DATAPOINTS_PER_REQUEST) return problem(`at most ${COSM_MAX_DATAPOINTS_PER_REQUEST} datapoints per request`);
    const accepted: Array<[number, Stored]> = [];
    for (const [i, p] of points.entries()) {
      const { at, value } = (p ?? {}) as { at?: unknown; value?: unknown };
      const timeMs = timeOf(at);
      if (timeMs === null || typeof at !== 'string') return problem(`datapoints[${i}].at ${JSON.stringify(at)} is not an ISO 8601 time`);
      const text = valueText(value);
      if (text === undefined) return problem(`datapoints[${i}].value ${JSON.stringify(value)} is not a number`);
      const reason = this.rejected.get(timeMs);
      if (reason !== undefined) return answer(400, { title: 'Bad Request', errors: reason });
      accepted.push([timeMs, { at, value: text }]);
    }
    for (const [timeMs, stored] of accepted) stream.points.set(timeMs, stored);
    entry.datapoints = accepted.length;
    return answer(200);
  }
}

function streamOf(feed: Map<string, Datastream>, id: string): Datastream {
  let stream = feed.get(id);
  if (stream === undefined) {
    stream = { current: undefined, points: new Map() };
    feed.set(id, stream);
  }
  return stream;
}

function valueText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return value;
  return undefined;
}

/** ms of a strict ISO 8601 time with a zone; null when it is not one. */
function timeOf(at: unknown): number | null {
  if (typeof at !== 'string' || !ISO_8601.test(at)) return null;
  const ms = Date.parse(at);
  return Number.isFinite(ms) ? ms : null;
}
