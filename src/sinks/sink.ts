import { P1Error } from '../errors.js';
import type { QueueRecord } from '../queue/types.js';
import { classifyStatus, NETWORK_ERROR_CODES, parseRetryAfter, type SinkErrorCode } from './classify.js';
import type { SinkSpec } from './spec.js';

export interface SendResult {
  /** Points (lines, datapoints) the records became, after removing exact duplicates. */
  points: number;
  requests: number;
}

/**
 * Where the uploader delivers. `send` either delivers every record (idempotently: the same records give the same
 * points, so a re-send overwrites) or throws a SinkError saying what to do next; it never retries by itself.
 */
export interface Sink {
  readonly kind: SinkSpec['kind'];
  /** For logs and status: the spec without credentials. */
  readonly description: string;
  /** Records per send the API admits (InfluxDB: 5,000 lines per request; Cosm: 500 datapoints per datastream). */
  readonly maxBatchRecords: number;
  /** Batches that may be on the way at once. The uploader keeps them in order: a failed one is retried alone, before those behind it. */
  readonly maxInFlight: number;
  send(records: readonly QueueRecord[], signal?: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * What a sink is given after an outage: `all` stored telegrams in order, or only the `latest`, skipping (and
 * counting) the backlog: what a live view such as Home Assistant wants. MQTT defaults to `latest`, the rest to `all`.
 */
export type PublishPolicy = 'all' | 'latest';

export function defaultPublishPolicy(kind: Sink['kind']): PublishPolicy {
  return kind === 'mqtt' ? 'latest' : 'all';
}

/** A failed send, classified (classify.ts). The message names the sink and the server's reason, never a secret. */
export class SinkError extends P1Error {
  override name = 'SinkError';
  declare readonly code: SinkErrorCode;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** What the server asked for in Retry-After. */
  readonly retryAfterMs: number | undefined;
  /** The server's own words (or the network error), for dead letters and status. */
  readonly reason: string;

  constructor(code: SinkErrorCode, message: string, details: { status?: number; retryAfterMs?: number; reason: string }) {
    super(code, message);
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.reason = details.reason;
  }
}

export function isSinkError(error: unknown): error is SinkError {
  return error instanceof SinkError;
}

const MAX_REASON = 300;

/** Replaces every occurrence of the secrets with `***` (servers sometimes echo what they were sent). */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

/** The server's reason from an error body: JSON `error` / `message` / `errors` / `title`, else the text. */
export function reasonFromBody(body: string): string {
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      for (const key of ['error', 'message', 'errors', 'title']) {
        const value = json[key];
        if (typeof value === 'string' && value !== '') return value;
        if (value !== undefined && value !== null && typeof value === 'object') return JSON.stringify(value);
      }
    } catch {
      // not JSON after all: the text is the reason
    }
  }
  return text;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_REASON ? `${oneLine.slice(0, MAX_REASON)}...` : oneLine;
}

const HINTS: Record<SinkErrorCode, string> = {
  P1_SINK_UNAVAILABLE: 'will retry with backoff',
  P1_SINK_REJECTED: 'the server refuses the data; the bad record is parked as a dead letter',
  P1_SINK_AUTH: 'check the credentials (INFLUX_TOKEN, INFLUX_USERNAME/INFLUX_PASSWORD, COSM_API_KEY); retrying slowly',
  P1_SINK_NOT_FOUND: 'check the URL, bucket, database or feed id; retrying slowly',
};

/** An HTTP answer that is not 2xx -> SinkError by the table in classify.ts. */
export function httpFailure(
  description: string,
  answer: { status: number; body: string; retryAfter?: string | string[] | undefined; hint?: string },
  secrets: readonly (string | undefined)[],
  nowMs = Date.now(),
): SinkError {
  const code = classifyStatus(answer.status) ?? 'P1_SINK_UNAVAILABLE';
  const reason = clip(scrub(reasonFromBody(answer.body), secrets)) || `HTTP ${answer.status}`;
  const retryAfterMs = parseRetryAfter(answer.retryAfter, nowMs);
  const hint = answer.hint ?? HINTS[code];
  const details: { status: number; reason: string; retryAfterMs?: number } = { status: answer.status, reason };
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  return new SinkError(code, `${description}: HTTP ${answer.status}: ${reason} (${hint})`, details);
}

/** A request that got no answer (refused, reset, timed out, DNS) -> P1_SINK_UNAVAILABLE. */
export function networkFailure(description: string, error: unknown, secrets: readonly (string | undefined)[]): SinkError {
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
  const message = error instanceof Error ? error.message : String(error);
  const reason = clip(scrub(known && !message.includes(code) ? `${code}: ${message}` : message, secrets)) || 'network error';
  // No `cause`: a client's error object carries the request, headers (credentials) included.
  return new SinkError('P1_SINK_UNAVAILABLE', `${description}: ${reason} (${HINTS.P1_SINK_UNAVAILABLE})`, { reason });
}
