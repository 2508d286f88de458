import got from 'got';
import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { recordsToLines } from './line-protocol.js';
import { httpFailure, networkFailure, type SendResult, type Sink } from './sink.js';
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
    throw httpFailure(this.description, response.statusCode === 404 ? { ...answer, hint: 'check the database name (?db=) and the URL; retrying slowly' } : answer, this.secrets);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
