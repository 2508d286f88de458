import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyTcpError } from '../../src/sources/tcp.js';
import { openSource } from '../../src/sources/open.js';
import { TcpMeter } from '../support/tcp-meter.js';
import { captureLog, until } from './log-capture.js';
import { SourceReader } from './read-events.js';

const V5 = readFileSync(new URL('../fixtures/telegrams/V5.txt', import.meta.url));
const fast = { silenceMs: 800, backoff: { initialMs: 50, maxMs: 300, minMs: 20 } };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function meter(): Promise<TcpMeter> {
  const m = await TcpMeter.start();
  cleanups.push(() => m.close());
  return m;
}

function read(spec: string): { reader: SourceReader; log: ReturnType<typeof captureLog> } {
  const log = captureLog();
  const reader = new SourceReader(openSource(spec, { logger: log.logger, ...fast }));
  cleanups.push(() => reader.stop());
  return { reader, log };
}

const warnings = (log: ReturnType<typeof captureLog>): (string | undefined)[] => log.lines.filter((l) => l.level >= 40).map((l) => l.code);

describe('tcp source against a local server', () => {
  it('reads telegrams split across arbitrary chunks', async () => {
    const m = await meter();
    const { reader } = read(`tcp:127.0.0.1:${m.port}`);
    await until(() => m.clients.size === 1, 5000, 'a connection');
    // Dribble a telegram in pieces of 7 bytes, then two at once.
    for (let i = 0; i < V5.length; i += 7) m.send(V5.subarray(i, i + 7));
    m.send(Buffer.concat([V5, V5]));
    await until(() => reader.telegrams.length >= 3, 5000, 'three telegrams');
    expect(reader.telegrams.every((t) => t.raw === V5.toString('latin1') && t.crc === 'ok')).toBe(true);
    expect(reader.source.stats).toMatchObject({ state: 'open', reconnects: 0 });
  });

  it('reconnects when the peer closes, when it falls silent, and when it is gone for a while', async () => {
    const m = await meter();
    const { reader, log } = read(`tcp:127.0.0.1:${m.port}`);
    m.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= 2, 5000, 'telegrams');

    // 1. The peer hangs up (ser2net restarted).
    m.hangUp();
    await until(() => m.connections >= 2 && reader.source.stats.state === 'open', 5000, 'a second connection');
    const afterClose = reader.telegrams.length;
    await until(() => reader.telegrams.length >= afterClose + 2, 5000, 'telegrams after the hang-up');
    expect(warnings(log)).toContain('P1_SOURCE_CLOSED');

    // 2. The peer stays connected but sends nothing (a hung dongle).
    m.stopFeeding();
    await until(() => warnings(log).includes('P1_SOURCE_SILENT'), 5000, 'silence to be noticed');
    await until(() => m.connections >= 3, 5000, 'a reconnect after silence');

    // 3. The server goes away: connections are refused, then it comes back on the same port.
    await m.close();
    await until(() => warnings(log).includes('P1_SOURCE_UNAVAILABLE'), 5000, 'refused connections');
    expect(log.lines.find((l) => l.code === 'P1_SOURCE_UNAVAILABLE')!.msg).toMatch(/refused the connection/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await m.listen();
    m.feed(() => V5, 50);
    const beforeReturn = reader.telegrams.length;
    await until(() => reader.telegrams.length >= beforeReturn + 2, 5000, 'telegrams after the server returned');
    expect(reader.source.stats.reconnects).toBeGreaterThanOrEqual(3);
    expect(reader.source.stats.lastError).toMatch(/^P1_SOURCE_/);
    expect(reader.error).toBeUndefined();
  });

  it('does not spin while the peer is down: attempts are spaced by the backoff', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { reader, log } = read(`tcp:127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const attempts = log.lines.filter((l) => l.code === 'P1_SOURCE_UNAVAILABLE').length;
    // Backoff 50 ms doubling to 300 ms (with jitter, floor 20 ms): a handful to a few dozen in 1.5 s, not thousands.
    expect(attempts).toBeGreaterThan(3);
    expect(attempts).toBeLessThan(80);
    expect(warnings(log).filter((c) => c === 'P1_SOURCE_UNAVAILABLE').length).toBe(1);
    expect(reader.source.stats.state).toMatch(/waiting|connecting/);
  });

  it('explains connection failures', () => {
    const error = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(classifyTcpError('dongle:23', error('ENOTFOUND')).message).toBe('host of dongle:23 not found (check the name, or use its IP address)');
    expect(classifyTcpError('10.0.0.9:23', error('EHOSTUNREACH')).message).toMatch(/unreachable/);
    expect(classifyTcpError('10.0.0.9:23', error('EWHATEVER')).message).toBe('cannot connect to 10.0.0.9:23: EWHATEVER');
  });
});
