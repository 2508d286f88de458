import { describe, expect, it } from 'vitest';
import { statusSnapshot } from '../../src/http/snapshot.js';
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
    durability: 'sync',
    state: 'up',
    sinks: [
      { sink: 'influx', cursor: 110, lag: 0, lagSeconds: 0, dropped: 0, deadLetters: 0 },
      { sink: 'cosm', cursor: 60, lag: 50, lagSeconds: 600, dropped: 3, deadLetters: 2 },
      { sink: 'removed-long-ago', cursor: 5, lag: 101, lagSeconds: 7200, dropped: 5, deadLetters: 0 },
    ],
  };

  it('joins each uploader with its queue cursor, and leaves out cursors of sinks no longer configured', () => {
    const snapshot = statusSnapshot({
      source: { description: 'serial:/dev/p1', stats: { state: 'open', reconnects: 1, bytes: 999 } },
      counters: { telegrams: 100, crcErrors: 2, invalid: 0, truncated: 1, junkBytes: 5 },
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
      { name: 'influx', state: 'ok', lagRecords: 0, lagSeconds: 0, retries: 0, deadLetters: 0, dropped: 0, skipped: 0, lastError: null },
      { name: 'cosm', state: 'retrying', lagRecords: 50, lagSeconds: 600, retries: 7, deadLetters: 2, dropped: 3, skipped: 0, lastError: 'HTTP 503' },
      { name: 'new', state: 'ok', lagRecords: 0, lagSeconds: 0, retries: 0, deadLetters: 0, dropped: 0, skipped: 4, lastError: null },
    ]);
    expect(snapshot.queue).toEqual({ records: 101, bytesOnDisk: 4096, firstSeq: 10, lastSeq: 110, firstReceivedAt: queue.firstReceivedAt, lastReceivedAt: queue.lastReceivedAt, state: 'up' });
    expect(snapshot.framer).toEqual({ telegrams: 100, crcErrors: 2, invalid: 0, truncated: 1, junkBytes: 5 });
    expect(snapshot.source).toEqual({ description: 'serial:/dev/p1', state: 'open', reconnects: 1, bytes: 999 });
  });
});
