import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_MAX_BUFFERED_BYTES } from '../../src/http/live-stream.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { until } from '../sources/log-capture.js';
import { startFixtureServer, type FixtureServer } from './fixture-server.js';
import { NOW, telegramFor } from './series.js';

const TELEGRAMS = 100_000;
/** Bursts a reading client takes without falling behind (a live event with its phases is ~0.3 KB; the bound is 64 KiB). */
const BATCH = 100;

let fx: FixtureServer;

beforeAll(async () => {
  fx = await startFixtureServer();
});
afterAll(async () => {
  await fx.server.close();
});

/** A browser tab that asked for the live graph and then stopped reading (a suspended laptop, a stuck proxy). */
async function stuckClient(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.pause();
  socket.write('GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  return socket;
}

/** A client that reads every event as it comes. */
async function readingClient(url: string): Promise<{ res: IncomingMessage; events: () => number }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => request(`${url}/api/live`, resolve).on('error', reject).end());
  let events = 0;
  let tail = '';
  res.on('data', (chunk: Buffer) => {
    const parts = (tail + chunk.toString()).split('\n\n');
    tail = parts.pop()!;
    events += parts.filter((p) => p.startsWith('event: power')).length;
  });
  return { res, events: () => events };
}

describe('/api/live with a client that never reads', () => {
  it('keeps what waits for it bounded, drops it, and the client that reads gets every event', async () => {
    const telegrams = Array.from({ length: 10 }, (_, i) =>
      parseTelegram(telegramFor({ t: NOW + i * 1000, importT1: 1, importT2: 2, exportT1: 3, exportT2: 4, powerImport: i / 10, powerExport: 0, gas: 5 })),
    );
    const stuck = await stuckClient(fx.server.address.port);
    const reader = await readingClient(fx.server.url);
    await until(() => fx.server.liveStats().clients === 2, 10_000, 'both clients subscribed');

    let peakBuffered = 0;
    for (let sent = 0; sent < TELEGRAMS; ) {
      for (let i = 0; i < BATCH; i++, sent++) fx.live.publish(telegrams[sent % telegrams.length]!, new Date(NOW + sent * 1000));
      peakBuffered = Math.max(peakBuffered, fx.server.liveStats().bufferedBytes);
      // A meter is not faster than a reading client: wait for it before the next batch, as time would.
      const target = sent;
      while (reader.events() < target) await yieldToIo();
    }

    // What waited in p1logger for its two clients never went past the bound of each (unbounded, it was 3.3 MB).
    expect(peakBuffered).toBeLessThanOrEqual(2 * LIVE_MAX_BUFFERED_BYTES);
    const stats = fx.server.liveStats();
    expect(stats.dropped).toBe(1);
    expect(stats.clients).toBe(1);
    expect(reader.events()).toBe(TELEGRAMS);

    // When it reads at last, the stuck client finds its connection closed, after what the kernel's socket buffers
    // held (megabytes on loopback, outside p1logger), not every event.
    let received = '';
    stuck.on('data', (chunk: Buffer) => (received += chunk.toString()));
    stuck.resume();
    await once(stuck, 'close');
    const events = (received.match(/event: power/g) ?? []).length;
    expect(events).toBeGreaterThan(0);
    expect(events).toBeLessThan(TELEGRAMS);
    reader.res.destroy();
  });
});
