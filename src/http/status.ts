import type { DropReason, QueueStatus } from '../queue/types.js';
import type { SourceState } from '../sources/source.js';
import type { FramerStats } from '../telegram/frame.js';
import type { RelayStats } from '../relay/relay.js';

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
  /** The same by reason: too old, files over maxBytes, filesystem under its floor, a full disk. */
  droppedByReason?: Record<DropReason, number>;
  /** Passed over since start because the sink takes only the newest (`publish: latest`). */
  skipped: number;
  lastError: string | null;
}

/** Whether telegrams get stored: what could not be, and the state of the space kept for a full disk. */
export interface StorageStatus {
  /** Telegrams appended durably since start. */
  stored: number;
  /** Telegrams that passed their CRC but could not be stored (queue down: disk full with no room to make, I/O error). */
  storeFailed: number;
  /** Writes that met a full disk since start (each time the oldest records made room). */
  diskFullEvents: number;
  /** The reserve file now (0 while it is given back) and what it should be on this filesystem. */
  reserveBytes: number;
  reserveTargetBytes: number;
  /** Free-space floor retention keeps. */
  minFreeBytes: number;
  /** Stored records that could not be read back (damaged storage): skipped and logged. */
  unreadable?: number;
  /** What opening did about a damaged queue, and damaged queues moved aside still in the data directory. */
  corruption?: QueueStatus['corruption'];
  corruptCopies?: string[];
}

/**
 * What the running service knows, handed to the status server on each request (the server adds the process figures,
 * the derived ages and the health verdict). Built by service.ts from the source, the framer, the queue and the uploaders.
 */
export interface StatusSnapshot {
  /** The data directory (realpath): clients check it is the one they mean (src/client/service-api.ts). */
  dataDir?: string;
  source: { description: string; state: SourceState; reconnects: number; bytes: number };
  /** The framer's counters: `telegrams` are the good ones; the decryption counters for meters that encrypt. */
  framer: FramerStats & { decryptErrors?: number; keyMissing?: number };
  /** Receive time of the last good telegram, ISO; null before the first. */
  lastTelegramAt: string | null;
  /** Usual seconds between telegrams (/healthz fails after 3x this without one); LiveFeed.intervalSeconds measures it. */
  intervalSeconds: number;
  queue: Pick<QueueStatus, 'records' | 'bytesOnDisk' | 'firstSeq' | 'lastSeq' | 'firstReceivedAt' | 'lastReceivedAt'> & { state?: QueueStatus['state'] };
  sinks: SinkStatus[];
  storage?: StorageStatus;
  /** The P1 relay, when relay.listen is set. */
  relay?: RelayStats;
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
  // Until the operator has looked at it and removed it: a new queue was begun, what the old one held is not sent.
  for (const copy of snapshot.storage?.corruptCopies ?? []) reasons.push(`a damaged queue was moved aside to ${copy}`);
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
