import type { QueueStatus } from '../queue/types.js';
import type { SourceStats } from '../sources/source.js';
import type { FramerStats } from '../telegram/frame.js';
import type { UploaderStats } from '../delivery/uploader.js';
import type { RelayStats } from '../relay/relay.js';
import type { SinkStatus, StatusSnapshot } from './status.js';

/** The running parts, as service.ts holds them. */
export interface SnapshotParts {
  /** The data directory (realpath), for clients to check. */
  dataDir?: string;
  source: { description: string; stats: SourceStats };
  /** Framer counters (the service's acquisition counters have the same names), and what the queue stored. */
  counters: FramerStats & { stored?: number; storeFailed?: number; decryptErrors?: number; keyMissing?: number };
  queue: QueueStatus;
  uploaders: ReadonlyArray<Pick<UploaderStats, 'name' | 'state' | 'retries' | 'skipped' | 'lastError'>>;
  /** Receive time of the last good telegram (LiveFeed.lastTelegramAt). */
  lastTelegramAt: string | null;
  /** LiveFeed.intervalSeconds. */
  intervalSeconds: number;
  relay?: RelayStats;
}

/**
 * One StatusSnapshot from the parts: per sink, the uploader's state and retries joined with the queue's cursor view
 * (lag, dropped, dead letters). Only configured sinks are shown: a cursor left by a removed sink is not a sink. Pure.
 */
export function statusSnapshot(parts: SnapshotParts): StatusSnapshot {
  const cursors = new Map(parts.queue.sinks.map((s) => [s.sink, s]));
  const sinks: SinkStatus[] = parts.uploaders.map((u) => {
    const c = cursors.get(u.name);
    return {
      name: u.name,
      state: u.state,
      lagRecords: c?.lag ?? 0,
      lagSeconds: c?.lagSeconds ?? 0,
      retries: u.retries,
      deadLetters: c?.deadLetters ?? 0,
      dropped: c?.dropped ?? 0,
      ...(c === undefined ? {} : { droppedByReason: c.droppedByReason }),
      skipped: u.skipped,
      lastError: u.lastError,
    };
  });
  const { telegrams, crcErrors, invalid, truncated, junkBytes, decryptErrors, keyMissing } = parts.counters;
  const q = parts.queue;
  return {
    ...(parts.dataDir === undefined ? {} : { dataDir: parts.dataDir }),
    source: { description: parts.source.description, state: parts.source.stats.state, reconnects: parts.source.stats.reconnects, bytes: parts.source.stats.bytes },
    framer: {
      telegrams,
      crcErrors,
      invalid,
      truncated,
      junkBytes,
      ...(decryptErrors === undefined ? {} : { decryptErrors }),
      ...(keyMissing === undefined ? {} : { keyMissing }),
    },
    lastTelegramAt: parts.lastTelegramAt,
    intervalSeconds: parts.intervalSeconds,
    queue: {
      records: q.records,
      bytesOnDisk: q.bytesOnDisk,
      firstSeq: q.firstSeq,
      lastSeq: q.lastSeq,
      firstReceivedAt: q.firstReceivedAt,
      lastReceivedAt: q.lastReceivedAt,
      state: q.state,
    },
    sinks,
    storage: {
      stored: parts.counters.stored ?? 0,
      storeFailed: parts.counters.storeFailed ?? 0,
      diskFullEvents: q.diskFull,
      reserveBytes: q.reserveBytes,
      reserveTargetBytes: q.reserveTargetBytes,
      minFreeBytes: q.minFreeBytes,
      unreadable: q.unreadable,
      corruption: q.corruption,
      corruptCopies: q.corruptCopies,
    },
    ...(parts.relay === undefined ? {} : { relay: parts.relay }),
  };
}
