import { HttpError, InfluxDB, setLogger, type SendOptions } from '@influxdata/influxdb-client';
import type { QueueRecord } from '../queue/types.js';
import type { ParseOptions } from '../telegram/types.js';
import { INFLUX_MAX_LINES } from './influxdb-v1.js';
import { recordsToLines } from './line-protocol.js';
import { httpFailure, networkFailure, type SendResult, type Sink } from './sink.js';
import { describeSinkSpec, type InfluxV2Spec } from './spec.js';

// The client logs failed writes to the console by itself; the uploader logs them (once, classified, without secrets).
setLogger({ error: () => undefined, warn: () => undefined });

export interface InfluxV2Options {
  spec: InfluxV2Spec;
  /** API token (INFLUX_TOKEN); VictoriaMetrics and an InfluxDB 1.8 without auth need none. */
  token?: string;
  /** Per request; a hung server counts as unavailable after this. Default 30 s. */
  timeoutMs?: number;
  maxLinesPerRequest?: number;
  /** Bodies larger than this many bytes are gzipped (the client's default, 1000). */
  gzipThreshold?: number;
  parse?: ParseOptions;
}

/**
 * The InfluxDB v2 write API (`/api/v2/write`: InfluxDB 2.x/3.x, Cloud, 1.8+, VictoriaMetrics) through
 * @influxdata/influxdb-client's transport (its HTTP, token and gzip handling): one request per body, as its
 * WriteApi would send it, but without the WriteApi's buffer and retries (the uploader owns those) and without its
 * per-character byte count of every line, which was a tenth of a backlog drain's time.
 */
export class InfluxV2Sink implements Sink {
  readonly kind = 'influxdb';
  readonly description: string;
  /** Points carry their own times: two batches may be written in either order. */
  readonly maxInFlight = 2;
  readonly maxBatchRecords = INFLUX_MAX_LINES;
  private readonly client: InfluxDB;
  private readonly writePath: string;
  private readonly secrets: string[];
  private readonly maxLines: number;
  private readonly gzipThreshold: number;
  private readonly parse: ParseOptions;

  constructor(options: InfluxV2Options) {
    const { org, bucket } = options.spec;
    this.writePath = `/api/v2/write?org=${encodeURIComponent(org)}&bucket=${encodeURIComponent(bucket)}&precision=s`;
    this.description = describeSinkSpec(options.spec);
    this.client = new InfluxDB({
      url: options.spec.url,
      timeout: options.timeoutMs ?? 30_000,
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    this.secrets = options.token === undefined ? [] : [options.token];
    this.maxLines = options.maxLinesPerRequest ?? INFLUX_MAX_LINES;
    this.gzipThreshold = options.gzipThreshold ?? 1000;
    this.parse = options.parse ?? {};
  }

  async send(records: readonly QueueRecord[], signal?: AbortSignal): Promise<SendResult> {
    const lines = recordsToLines(records, this.parse, 's');
    let requests = 0;
    for (let start = 0; start < lines.length; start += this.maxLines) {
      const chunk = start === 0 && lines.length <= this.maxLines ? lines : lines.slice(start, start + this.maxLines);
      await this.write(chunk.join('\n'), signal);
      requests++;
    }
    return { points: lines.length, requests };
  }

  private async write(body: string, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    // A signal of this request's own: the client never removes its abort listener, and one on the uploader's
    // long-lived signal would keep every request (and its body) alive until the uploader stops.
    const request = new AbortController();
    const abort = (): void => request.abort();
    signal?.addEventListener('abort', abort, { once: true });
    const options: SendOptions = {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: this.gzipThreshold,
      signal: request.signal,
    };
    try {
      await new Promise<void>((resolve, reject) => {
        let status: number | undefined;
        this.client.transport.send(this.writePath, body, options, {
          responseStarted: (_headers, statusCode) => {
            status = statusCode;
          },
          next: () => undefined,
          error: reject,
          // What the client's WriteApi counts as written: 204 (201 from some proxies); another 2xx is no write.
          complete: () =>
            status === 204 || status === 201 || status === undefined
              ? resolve()
              : reject(new HttpError(status, undefined, `204 HTTP response status code expected, but ${status} returned`)),
        });
      });
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof HttpError) {
        const answer = { status: error.statusCode, body: error.body ?? error.message, retryAfter: error.headers?.['retry-after'] };
        throw httpFailure(
          this.description,
          error.statusCode === 404
            ? { ...answer, hint: 'check the URL, org and bucket; a server without /api/v2/write (InfluxDB before 1.8) needs influxdb-v1:; retrying slowly' }
            : answer,
          this.secrets,
        );
      }
      throw networkFailure(this.description, error, this.secrets);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
