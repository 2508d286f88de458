import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { Relay, RELAY_MAX_BUFFERED_BYTES } from '../../src/relay/relay.js';
import { makeTelegram } from '../queue/helpers.js';
import { captureLog, until } from '../sources/log-capture.js';

/** 20,000 DSMR 5-sized telegrams (about 1 KB each): 21 MB, far more than the kernel's socket buffers hold. */
const TELEGRAMS = 20_000;
const PADDING = 300;
const BATCH = 50;
/** How far the reading client may be behind before the next batch: a meter is not faster than a client that reads. */
const READER_WINDOW = 128 * 1024;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRelay(maxClients = 5): Promise<{ relay: Relay; port: number; log: ReturnType<typeof captureLog> }> {
  const log = captureLog();
  const relay = new Relay({ listen: '127.0.0.1:0', maxClients, logger: log.logger });
  await relay.start();
  cleanups.push(() => relay.stop());
  return { relay, port: relay.port!, log };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

/** A client that reads everything and keeps a running digest of it. */
function reading(socket: Socket): { bytes: () => number; digest: () => string } {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  return { bytes: () => bytes, digest: () => hash.copy().digest('hex') };
}

describe('P1 relay', () => {
  it('two clients at once: the one that reads gets every telegram byte for byte; the one that never reads is disconnected, memory bounded', async () => {
    const { relay, port, log } = await startRelay();
    const stuck = await client(port);
    stuck.pause();
    const reader = reading(await client(port));
    await until(() => relay.stats().clients === 2, 10_000, 'two relay clients');

    const expected = createHash('sha256');
    let expectedBytes = 0;
    let peakBuffered = 0;
    for (let seq = 0; seq < TELEGRAMS; ) {
      for (let i = 0; i < BATCH; i++, seq++) {
        const raw = makeTelegram(seq, PADDING);
        relay.publish(raw);
        const bytes = Buffer.from(raw, 'latin1');
        expected.update(bytes);
        expectedBytes += bytes.length;
      }
      peakBuffered = Math.max(peakBuffered, relay.stats().bufferedBytes);
      while (expectedBytes - reader.bytes() > READER_WINDOW) await yieldToIo();
    }
    await until(() => reader.bytes() === expectedBytes, 10_000, 'every byte at the reading client');

    expect(reader.bytes()).toBe(expectedBytes);
    expect(reader.digest()).toBe(expected.digest('hex'));
    const stats = relay.stats();
    expect(stats).toMatchObject({ clients: 1, connections: 2, dropped: 1, refused: 0, telegrams: TELEGRAMS });
    // The reader's bytes plus what the stuck one got before it fell behind.
    expect(stats.bytes).toBeGreaterThanOrEqual(expectedBytes);
    expect(stats.bytes).toBeLessThan(2 * expectedBytes);
    // Two clients, each held to the bound, while 21 MB went through.
    expect(peakBuffered).toBeLessThanOrEqual(2 * RELAY_MAX_BUFFERED_BYTES);
    expect(log.lines.filter((l) => /fell behind .* disconnected/.test(l.msg))).toHaveLength(1);

    // When the stuck client reads at last, it finds whole telegrams, then the end of the connection.
    let received = Buffer.alloc(0);
    stuck.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    stuck.resume();
    await once(stuck, 'close');
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(expectedBytes);
    const text = received.toString('latin1');
    expect(text.startsWith(makeTelegram(0, PADDING))).toBe(true);
  });

  it('serves at most maxClients; one more is closed at once and counted, and the others go on', async () => {
    const { relay, port, log } = await startRelay(2);
    const a = reading(await client(port));
    const b = reading(await client(port));
    await until(() => relay.stats().clients === 2, 10_000, 'two relay clients');
    const third = await client(port);
    await once(third, 'close');
    // Bytes above 0x7f (0xFF padding, latin1 text) go out as they came: the queue keeps one char per byte.
    const raw = `${makeTelegram(1)}\xff\xff\xe9`;
    relay.publish(raw);
    const size = Buffer.byteLength(raw, 'latin1');
    await until(() => a.bytes() === size && b.bytes() === size, 10_000, 'the telegram at both clients');
    const digest = createHash('sha256').update(Buffer.from(raw, 'latin1')).digest('hex');
    expect([a.digest(), b.digest()]).toEqual([digest, digest]);
    expect(relay.stats()).toMatchObject({ clients: 2, refused: 1, connections: 2 });
    expect(log.text()).toMatch(/refused, 2 clients \(relay\.maxClients\) are connected/);
  });

  it('an address in use is P1_RELAY_LISTEN naming the address and the setting', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    const relay = new Relay({ listen: `127.0.0.1:${port}`, maxClients: 5, logger: captureLog().logger });
    const error: unknown = await relay.start().catch((e: unknown) => e);
    expect(isP1Error(error, 'P1_RELAY_LISTEN')).toBe(true);
    expect((error as Error).message).toBe(`cannot listen on 127.0.0.1:${port}: address in use (another p1logger?); set relay.listen / P1LOGGER_RELAY_LISTEN`);
  });
});
