import type { QueueStatus } from '../queue/types.js';
import type { SourceState } from '../sources/source.js';
import type { FramerStats } from '../telegram/frame.js';

export type SinkState = 'ok' | 'retrying' | 'failing';

/** One sink as the page and /metrics show it: the uploader's state plus the queue's view of its cursor. */
export interface SinkStatus {
  name: string;
  /** ok: sending; retrying: transient failures (network, 5xx, 429) being retried; failing: refused (401/403/404) or given up. */
  state: SinkState;
  /** Stored telegrams not yet acknowledged by this sink. */
  lagRecords: number;
  /** Age of the oldest of them (0 when up to date). */
  lagSeconds: number;
  /** Failed attempts since start. */
  retries: number;
  deadLetters: number;
  /** Removed by retention before this sink had them. */
  dropped: number;
  /** Passed over since start because the sink takes only the newest (`publish: latest`). */
  skipped: number;
  lastError: string | null;
}

/**
 * What the running service knows, handed to the status server on each request (the server adds the process figures,
 * the derived ages and the health verdict). Built by service.ts from the source, the framer, the queue and the uploaders.
 */
export interface StatusSnapshot {
  source: { description: string; state: SourceState; reconnects: number; bytes: number };
  /** The framer's counters: `telegrams` are the good ones. */
  framer: FramerStats;
  /** Receive time of the last good telegram, ISO; null before the first. */
  lastTelegramAt: string | null;
  /** Usual seconds between telegrams (/healthz fails after 3x this without one); LiveFeed.intervalSeconds measures it. */
  intervalSeconds: number;
  queue: Pick<QueueStatus, 'records' | 'bytesOnDisk' | 'firstSeq' | 'lastSeq' | 'firstReceivedAt' | 'lastReceivedAt'> & { state?: QueueStatus['state'] };
  sinks: SinkStatus[];
}

export interface Health {
  ok: boolean;
  reasons: string[];
}

/** `/api/status`: the snapshot plus what the server derives. */
export interface StatusReport extends StatusSnapshot {
  version: string;
  now: string;
  process: { pid: number; rssBytes: number; uptimeSeconds: number };
  lastTelegramAgeSeconds: number | null;
  /** CRC errors / (good telegrams + CRC errors); null before any. */
  crcErrorRate: number | null;
  health: Health;
}

export const STALE_FACTOR = 3;

/** Healthy while telegrams arrive (none for 3x the interval is not) and no sink is failing. Pure. */
export function evaluateHealth(snapshot: StatusSnapshot, nowMs: number, uptimeSeconds: number): Health {
  const reasons: string[] = [];
  const limit = STALE_FACTOR * snapshot.intervalSeconds;
  const last = snapshot.lastTelegramAt === null ? null : Date.parse(snapshot.lastTelegramAt);
  if (last === null) {
    if (uptimeSeconds > limit) reasons.push(`no telegram since start ${Math.round(uptimeSeconds)} s ago (expected one every ${snapshot.intervalSeconds} s)`);
  } else {
    const age = (nowMs - last) / 1000;
    if (age > limit) reasons.push(`no telegram for ${Math.round(age)} s (expected one every ${snapshot.intervalSeconds} s)`);
  }
  if (snapshot.queue.state !== undefined && snapshot.queue.state !== 'up') reasons.push(`queue is ${snapshot.queue.state}`);
  for (const sink of snapshot.sinks) {
    if (sink.state === 'failing') reasons.push(`sink ${sink.name} is failing${sink.lastError === null ? '' : `: ${sink.lastError}`}`);
  }
  return { ok: reasons.length === 0, reasons };
}

export function buildReport(
  snapshot: StatusSnapshot,
  context: { nowMs: number; uptimeSeconds: number; rssBytes: number; pid: number; version: string },
): StatusReport {
  const last = snapshot.lastTelegramAt === null ? null : Date.parse(snapshot.lastTelegramAt);
  const judged = snapshot.framer.telegrams + snapshot.framer.crcErrors;
  return {
    ...snapshot,
    version: context.version,
    now: new Date(context.nowMs).toISOString(),
    process: { pid: context.pid, rssBytes: context.rssBytes, uptimeSeconds: context.uptimeSeconds },
    lastTelegramAgeSeconds: last === null ? null : Math.max(0, (context.nowMs - last) / 1000),
    crcErrorRate: judged === 0 ? null : snapshot.framer.crcErrors / judged,
    health: evaluateHealth(snapshot, context.nowMs, context.uptimeSeconds),
  };
}
