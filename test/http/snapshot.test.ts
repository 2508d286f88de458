import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../src/http/metrics.js';
import { statusSnapshot } from '../../src/http/snapshot.js';
import { buildReport, evaluateHealth } from '../../src/http/status.js';
import type { QueueStatus } from '../../src/queue/types.js';

describe('statusSnapshot: the service parts joined for the status server', () => {
  const queue: QueueStatus = {
    firstSeq: 10,
    lastSeq: 110,
    firstReceivedAt: '2025-01-15T10:00:00.000Z',
    lastReceivedAt: '2025-01-15T12:00:00.000Z',
    records: 101,
    bytesOnDisk: 4096,
    reserveBytes: 0,
    reserveTargetBytes: 1024 * 1024,
    minFreeBytes: 2 * 1024 * 1024,
    diskFull: 2,
    unreadable: 0,
    corruption: null,
    corruptCopies: [],
    durability: 'sync',
    state: 'up',
    sinks: [
      { sink: 'influx', cursor: 110, lag: 0, lagSeconds: 0, dropped: 0, droppedByReason: { age: 0, size: 0, freeSpace: 0, diskFull: 0 }, deadLetters: 0, deadLetterReasons: {} },
      { sink: 'cosm', cursor: 60, lag: 50, lagSeconds: 600, dropped: 3, droppedByReason: { age: 1, size: 0, freeSpace: 0, diskFull: 2 }, deadLetters: 2, deadLetterReasons: { 'HTTP 400: unable to parse': 2 } },
      { sink: 'removed-long-ago', cursor: 5, lag: 101, lagSeconds: 7200, dropped: 5, droppedByReason: { age: 5, size: 0, freeSpace: 0, diskFull: 0 }, deadLetters: 0, deadLetterReasons: {} },
    ],
  };

  it('joins each uploader with its queue cursor, and leaves out cursors of sinks no longer configured', () => {
    const snapshot = statusSnapshot({
      source: { description: 'serial:/dev/p1', stats: { state: 'open', reconnects: 1, bytes: 999 } },
      counters: { telegrams: 100, crcErrors: 2, invalid: 0, truncated: 1, junkBytes: 5, stored: 97, storeFailed: 3 },
      queue,
      uploaders: [
        { name: 'influx', state: 'ok', retries: 0, skipped: 0, lastError: null },
        { name: 'cosm', state: 'retrying', retries: 7, skipped: 0, lastError: 'HTTP 503' },
        { name: 'new', state: 'ok', retries: 0, skipped: 4, lastError: null },
      ],
      lastTelegramAt: '2025-01-15T12:00:00.000Z',
      intervalSeconds: 1,
    });
    expect(snapshot.sinks).toEqual([
      { name: 'influx', state: 'ok', lagRecords: 0, lagSeconds: 0, retries: 0, deadLetters: 0, dropped: 0, droppedByReason: { age: 0, size: 0, freeSpace: 0, diskFull: 0 }, skipped: 0, lastError: null },
      { name: 'cosm', state: 'retrying', lagRecords: 50, lagSeconds: 600, retries: 7, deadLetters: 2, dropped: 3, droppedByReason: { age: 1, size: 0, freeSpace: 0, diskFull: 2 }, skipped: 0, lastError: 'HTTP 503' },
      { name: 'new', state: 'ok', lagRecords: 0, lagSeconds: 0, retries: 0, deadLetters: 0, dropped: 0, skipped: 4, lastError: null },
    ]);
    expect(snapshot.queue).toEqual({ records: 101, bytesOnDisk: 4096, firstSeq: 10, lastSeq: 110, firstReceivedAt: queue.firstReceivedAt, lastReceivedAt: queue.lastReceivedAt, state: 'up' });
    expect(snapshot.framer).toEqual({ telegrams: 100, crcErrors: 2, invalid: 0, truncated: 1, junkBytes: 5 });
    expect(snapshot.source).toEqual({ description: 'serial:/dev/p1', state: 'open', reconnects: 1, bytes: 999 });
    expect(snapshot.storage).toEqual({
      stored: 97,
      storeFailed: 3,
      diskFullEvents: 2,
      reserveBytes: 0,
      reserveTargetBytes: 1024 * 1024,
      minFreeBytes: 2 * 1024 * 1024,
      unreadable: 0,
      corruption: null,
      corruptCopies: [],
    });
    const metrics = renderMetrics(buildReport(snapshot, { nowMs: Date.parse('2025-01-15T12:00:01Z'), uptimeSeconds: 60, rssBytes: 1, pid: 1, version: 'test' }));
    expect(metrics).toContain('p1logger_telegrams_store_failed_total 3\n');
    expect(metrics).toContain('p1logger_queue_disk_full_total 2\n');
    expect(metrics).toContain('p1logger_sink_dropped_by_reason_total{sink="cosm",reason="diskFull"} 2\n');
    expect(metrics).toContain('p1logger_sink_dropped_by_reason_total{sink="cosm",reason="age"} 1\n');
  });
});

describe('health and damaged storage', () => {
  it('is unhealthy, naming the path, while a damaged queue moved aside is still in the data directory', () => {
    const snapshot = {
      source: { description: 'simulate', state: 'open' as const, reconnects: 0, bytes: 1 },
      framer: { telegrams: 1, crcErrors: 0, invalid: 0, truncated: 0, junkBytes: 0 },
      lastTelegramAt: '2025-01-15T12:00:00.000Z',
      intervalSeconds: 1,
      queue: { records: 1, bytesOnDisk: 1, firstSeq: 1, lastSeq: 1, firstReceivedAt: null, lastReceivedAt: null, state: 'up' as const },
      sinks: [],
      storage: { stored: 1, storeFailed: 0, diskFullEvents: 0, reserveBytes: 1, reserveTargetBytes: 1, minFreeBytes: 1, corruptCopies: ['/var/lib/p1logger/queue.corrupt-2025-01-15T11-00-00-000Z'] },
    };
    const health = evaluateHealth(snapshot, Date.parse('2025-01-15T12:00:01Z'), 60);
    expect(health.ok).toBe(false);
    expect(health.reasons).toEqual(['a damaged queue was moved aside to /var/lib/p1logger/queue.corrupt-2025-01-15T11-00-00-000Z']);
    expect(evaluateHealth({ ...snapshot, storage: { ...snapshot.storage, corruptCopies: [] } }, Date.parse('2025-01-15T12:00:01Z'), 60).ok).toBe(true);
  });
});
