import got from 'got';
import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { recordsToLines } from './line-protocol.js';
import { httpFailure, networkFailure, reasonFromBody, scrub, type SendResult, type Sink } from './sink.js';
import { describeSinkSpec, type InfluxV1Spec } from './spec.js';

export interface InfluxV1Options {
  spec: InfluxV1Spec;
  /** Basic auth, when the server has authentication on (INFLUX_USERNAME / INFLUX_PASSWORD). */
  username?: string;
  password?: string;
  /** Per request; a hung server counts as unavailable after this. Default 30 s. */
  timeoutMs?: number;
  /** Lines per HTTP request; InfluxDB's advice is 5,000. */
  maxLinesPerRequest?: number;
  parse?: ParseOptions;
}

export const INFLUX_MAX_LINES = 5000;

/**
 * InfluxDB 1.x `/write?db=&rp=&precision=s` (Debian's and Raspberry Pi OS's influxdb is 1.6, which has no v2 API),
 * line protocol over got with got's own retry off: the uploader owns retries, so nothing retries twice.
 */
export class InfluxV1Sink implements Sink {
  readonly kind = 'influxdb-v1';
  readonly description: string;
  /** Points carry their own times: two batches may be written in either order. */
  readonly maxInFlight = 2;
  readonly maxBatchRecords = INFLUX_MAX_LINES;
  private readonly writeUrl: string;
  private readonly queryUrl: string;
  private readonly db: string;
  /**
   * Whether CREATE DATABASE is to be tried before the next write: at the first one, and again after a 404 (the
   * database was dropped, or the user got the right since). Its answer when it failed, for the 404's message.
   */
  private createBeforeWrite = true;
  private createRefused: string | undefined;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly maxLines: number;
  private readonly parse: ParseOptions;

  constructor(options: InfluxV1Options) {
    const { spec } = options;
    this.description = describeSinkSpec(spec);
    const url = new URL(`${spec.url}/write`);
    url.searchParams.set('db', spec.db);
    if (spec.rp !== undefined) url.searchParams.set('rp', spec.rp);
    url.searchParams.set('precision', 's');
    this.writeUrl = url.toString();
    this.queryUrl = `${spec.url}/query`;
    this.db = spec.db;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    const username = options.username ?? spec.username;
    const password = options.password ?? spec.password;
    if (username !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    }
    this.secrets = [password, this.headers.authorization?.slice(6)].filter((s): s is string => s !== undefined);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxLines = options.maxLinesPerRequest ?? INFLUX_MAX_LINES;
    this.parse = options.parse ?? {};
  }

  async send(records: readonly QueueRecord[], signal?: AbortSignal): Promise<SendResult> {
    if (this.createBeforeWrite) await this.createDatabase(signal);
    const lines = recordsToLines(records, this.parse, 's');
    let requests = 0;
    for (let start = 0; start < lines.length; start += this.maxLines) {
      await this.post(lines.slice(start, start + this.maxLines).join('\n'), signal);
      requests++;
    }
    return { points: lines.length, requests };
  }

  private async post(body: string, signal: AbortSignal | undefined): Promise<void> {
    let response;
    try {
      response = await got.post(this.writeUrl, {
        body,
        headers: this.headers,
        retry: { limit: 0 },
        timeout: { request: this.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      signal?.throwIfAborted();
      throw networkFailure(this.description, error, this.secrets);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return;
    const answer = { status: response.statusCode, body: response.body, retryAfter: response.headers['retry-after'] };
    if (response.statusCode !== 404) throw httpFailure(this.description, answer, this.secrets);
    this.createBeforeWrite = true;
    const create = `influx -execute 'CREATE DATABASE ${quoteIdentifier(this.db)}'`;
    const hint =
      this.createRefused === undefined
        ? 'check the database name (?db=), the retention policy (&rp=) and the URL; retrying'
        : `p1logger could not create it (${this.createRefused}): create it (${create}) or give a user with admin rights; retrying`;
    throw httpFailure(this.description, { ...answer, hint }, this.secrets);
  }

  /**
   * CREATE DATABASE, as Telegraf does at start (skip_database_creation = false): idempotent on InfluxDB 1.x, and
   * refused (403) for a user without admin rights, whose 404 on the write then says why and what to do. A server
   * that does not answer is the write's to report.
   */
  private async createDatabase(signal: AbortSignal | undefined): Promise<void> {
    let response;
    try {
      response = await got.post(this.queryUrl, {
        form: { q: `CREATE DATABASE ${quoteIdentifier(this.db)}` },
        headers: this.headers.authorization === undefined ? {} : { authorization: this.headers.authorization },
        retry: { limit: 0 },
        timeout: { request: this.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch {
      signal?.throwIfAborted();
      return;
    }
    this.createBeforeWrite = false;
    const ok = response.statusCode >= 200 && response.statusCode < 300 && !/"error"/.test(response.body);
    this.createRefused = ok ? undefined : `CREATE DATABASE answered HTTP ${response.statusCode}: ${scrub(reasonFromBody(response.body), this.secrets).slice(0, 200)}`;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An InfluxQL identifier in double quotes (a database name may hold anything). */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
