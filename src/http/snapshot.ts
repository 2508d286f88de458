import type { QueueStatus } from '../queue/types.js';
import type { SourceStats } from '../sources/source.js';
import type { FramerStats } from '../telegram/frame.js';
import type { UploaderStats } from '../delivery/uploader.js';
import type { SinkStatus, StatusSnapshot } from './status.js';

/** The running parts, as service.ts holds them. */
export interface SnapshotParts {
  source: { description: string; stats: SourceStats };
  /** Framer counters (the service's acquisition counters have the same names). */
  counters: FramerStats;
  queue: QueueStatus;
  uploaders: ReadonlyArray<Pick<UploaderStats, 'name' | 'state' | 'retries' | 'skipped' | 'lastError'>>;
  /** Receive time of the last good telegram (LiveFeed.lastTelegramAt). */
  lastTelegramAt: string | null;
  /** LiveFeed.intervalSeconds. */
  intervalSeconds: number;
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
      skipped: u.skipped,
      lastError: u.lastError,
    };
  });
  const { telegrams, crcErrors, invalid, truncated, junkBytes } = parts.counters;
  const q = parts.queue;
  return {
    source: { description: parts.source.description, state: parts.source.stats.state, reconnects: parts.source.stats.reconnects, bytes: parts.source.stats.bytes },
    framer: { telegrams, crcErrors, invalid, truncated, junkBytes },
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
  };
}
