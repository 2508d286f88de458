import { parseTelegram } from '../../src/telegram/parse.js';
import { LiveFeed } from '../../src/http/live.js';
import { readingOf } from '../../src/http/reading.js';
import { readingsHistory } from '../../src/http/history.js';
import { createStatusServer, type StatusServer } from '../../src/http/server.js';
import type { StatusSnapshot } from '../../src/http/status.js';
import { NOW, series, telegramFor, type Values } from './series.js';

/** A status server over the fixture series, its live feed, and a snapshot the test can change between requests. */
export interface FixtureServer {
  server: StatusServer;
  live: LiveFeed;
  snapshot: StatusSnapshot;
  values: Values[];
}

export function baseSnapshot(): StatusSnapshot {
  return {
    source: { description: 'serial:/dev/p1', state: 'open', reconnects: 2, bytes: 123456 },
    framer: { telegrams: 361, crcErrors: 4, invalid: 1, truncated: 2, junkBytes: 77 },
    lastTelegramAt: new Date(NOW - 5000).toISOString(),
    intervalSeconds: 10,
    queue: {
      records: 363,
      bytesOnDisk: 5_242_880,
      firstSeq: 1,
      lastSeq: 363,
      firstReceivedAt: '2024-12-31T22:59:50.000Z',
      lastReceivedAt: new Date(NOW).toISOString(),
      state: 'up',
    },
    sinks: [
      { name: 'influx', state: 'ok', lagRecords: 0, lagSeconds: 0, retries: 3, deadLetters: 0, dropped: 0, skipped: 0, lastError: null },
      { name: 'cosm', state: 'retrying', lagRecords: 12, lagSeconds: 120, retries: 9, deadLetters: 1, dropped: 5, skipped: 7, lastError: 'HTTP 503 from cosm:http://127.0.0.1:9/v2/feeds/1' },
    ],
  };
}

export async function startFixtureServer(options: { live?: boolean } = {}): Promise<FixtureServer> {
  const values = series();
  const readings = values.map((v) => readingOf(parseTelegram(telegramFor(v)), v.t));
  const live = new LiveFeed();
  const state = { snapshot: baseSnapshot() };
  const server = await createStatusServer({
    listen: '127.0.0.1:0',
    status: () => state.snapshot,
    history: readingsHistory(readings),
    ...(options.live === false ? {} : { live }),
    timeZone: 'Europe/Amsterdam',
    now: () => NOW,
  });
  return {
    server,
    live,
    values,
    get snapshot() {
      return state.snapshot;
    },
    set snapshot(value: StatusSnapshot) {
      state.snapshot = value;
    },
  };
}
