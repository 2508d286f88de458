import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BoundedClient } from '../../src/net/bounded-client.js';

/** A stream whose reader takes each chunk only when the test says so (`release`): a client that stopped reading. */
function stalledStream(): { stream: Writable; release: () => void } {
  const waiting: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(_chunk, _encoding, callback) {
      waiting.push(() => callback());
    },
  });
  return { stream, release: () => waiting.shift()?.() };
}

describe('BoundedClient', () => {
  it('skips messages while the buffer is full, then drops the client; never holds more than the bound', () => {
    const { stream } = stalledStream();
    let drops = 0;
    const client = new BoundedClient(stream, { maxBufferedBytes: 100, maxSkipped: 3, onDrop: () => drops++ });
    const results = Array.from({ length: 12 }, () => client.send('x'.repeat(30)));
    // 30 bytes each: three fit in 100 bytes, the next three are skipped, the seventh drops the client.
    expect(results).toEqual(['sent', 'sent', 'sent', 'skipped', 'skipped', 'skipped', 'dropped', 'dropped', 'dropped', 'dropped', 'dropped', 'dropped']);
    expect(client).toMatchObject({ messagesSent: 3, bytesSent: 90, skipped: 4, dropped: true });
    expect(stream.destroyed).toBe(true);
    expect(drops).toBe(1);
  });

  it('a client that catches up is written to again, and its skips start over', () => {
    const { stream, release } = stalledStream();
    const client = new BoundedClient(stream, { maxBufferedBytes: 64, maxSkipped: 2 });
    expect([client.send('a'.repeat(40)), client.send('b'.repeat(40)), client.send('c'.repeat(40))]).toEqual(['sent', 'skipped', 'skipped']);
    release();
    expect(client.bufferedBytes).toBe(0);
    expect([client.send('d'.repeat(40)), client.send('e'.repeat(40)), client.send('f'.repeat(40))]).toEqual(['sent', 'skipped', 'skipped']);
    expect(client.dropped).toBe(false);
  });

  it('maxSkipped 0 drops at the first message that does not fit: a byte stream gets no holes', () => {
    const { stream } = stalledStream();
    const client = new BoundedClient(stream, { maxBufferedBytes: 50, maxSkipped: 0 });
    expect([client.send(Buffer.alloc(40)), client.send(Buffer.alloc(40))]).toEqual(['sent', 'dropped']);
    expect(client.skipped).toBe(1);
    expect(stream.destroyed).toBe(true);
  });
});
