import type { P1ErrorCode } from '../errors.js';

/** What the uploader does about a failed request. */
export type SinkErrorCode = Extract<P1ErrorCode, 'P1_SINK_UNAVAILABLE' | 'P1_SINK_REJECTED' | 'P1_SINK_AUTH' | 'P1_SINK_NOT_FOUND'>;

/**
 * The one table from an HTTP answer to what happens next (as Telegraf and Vector do for InfluxDB):
 * - P1_SINK_UNAVAILABLE: retried with backoff, forever (the data waits in the queue);
 * - P1_SINK_REJECTED: the request itself is refused: the batch is split to find the bad record, which is parked;
 * - P1_SINK_AUTH / P1_SINK_NOT_FOUND: configuration (token, bucket, database, feed): the sink is marked failing,
 *   logged once, and retried slowly, since someone can fix it without restarting p1logger.
 */
const STATUS_TABLE: ReadonlyArray<{ status: number; code: SinkErrorCode }> = [
  { status: 400, code: 'P1_SINK_REJECTED' },
  { status: 413, code: 'P1_SINK_REJECTED' },
  { status: 422, code: 'P1_SINK_REJECTED' },
  { status: 401, code: 'P1_SINK_AUTH' },
  { status: 403, code: 'P1_SINK_AUTH' },
  { status: 404, code: 'P1_SINK_NOT_FOUND' },
  { status: 408, code: 'P1_SINK_UNAVAILABLE' },
  { status: 425, code: 'P1_SINK_UNAVAILABLE' },
  { status: 429, code: 'P1_SINK_UNAVAILABLE' },
];
const BY_STATUS = new Map(STATUS_TABLE.map((row) => [row.status, row.code]));

/**
 * HTTP status -> class; null for success (2xx). 5xx and anything not listed (3xx not followed, 405, 409, ...) are
 * retried: only a status that names a bad request may get records parked, so a misconfigured proxy never
 * empties the queue into the dead-letter range.
 */
export function classifyStatus(status: number): SinkErrorCode | null {
  if (status >= 200 && status < 300) return null;
  return BY_STATUS.get(status) ?? 'P1_SINK_UNAVAILABLE';
}

/** Network failures: all of them are worth retrying (refused, reset, timeouts, DNS, unreachable). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_GOT_REQUEST_ERROR',
  'UND_ERR_SOCKET',
]);

/** `Retry-After: 120` or `Retry-After: <HTTP date>` -> milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, date - nowMs);
}
