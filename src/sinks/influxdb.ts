import { HttpError, InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client';
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
 * @influxdata/influxdb-client, with everything of its own that retries or buffers turned off: maxRetries 0, no retry
 * buffer, no timed flush, and a batch that never flushes early; `writeFailed` hands every failure back to us.
 */
export class InfluxV2Sink implements Sink {
  readonly kind = 'influxdb';
  readonly description: string;
  /** Points carry their own times: two batches may be written in either order. */
  readonly maxInFlight = 2;
  readonly maxBatchRecords = INFLUX_MAX_LINES;
  private readonly client: InfluxDB;
  private readonly spec: InfluxV2Spec;
  private readonly secrets: string[];
  private readonly maxLines: number;
  private readonly gzipThreshold: number;
  private readonly parse: ParseOptions;

  constructor(options: InfluxV2Options) {
    this.spec = options.spec;
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
      await this.write(lines.slice(start, start + this.maxLines), signal);
      requests++;
    }
    return { points: lines.length, requests };
  }

  private async write(lines: string[], signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const api: WriteApi = this.client.getWriteApi(this.spec.org, this.spec.bucket, 's', {
      // One request for exactly these lines: a batch that flushed early would fail where nobody hears it.
      batchSize: lines.length + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 0,
      gzipThreshold: this.gzipThreshold,
      writeFailed: (error: Error) => Promise.reject(error),
    });
    let onAbort: (() => void) | undefined;
    try {
      api.writeRecords(lines);
      const written = api.flush();
      // The client's write cannot be cancelled: on stop, stop waiting for it (it ends by its timeout).
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error('aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      await Promise.race([written, aborted]);
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
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      api.dispose();
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
