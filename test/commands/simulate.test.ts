import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseListen, withEvenParity } from '../../src/commands/simulate.js';
import { TelegramFramer } from '../../src/telegram/frame.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { runCli, watchCli, type WatchedCli } from '../support/cli.js';
import { SocatPair } from '../support/socat.js';
import { until } from '../sources/log-capture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function frame(bytes: Buffer): ReturnType<TelegramFramer['push']> {
  const framer = new TelegramFramer();
  return [...framer.push(bytes), ...framer.end()];
}

function spawnTracked(args: string[]): WatchedCli {
  return watchCli(args, cleanups);
}

describe('p1logger simulate', () => {
  it('--fast --count writes the virtual meter telegrams to stdout, the same as the model for that seed and start', async () => {
    const start = '2024-05-01T10:00:00Z';
    const result = await runCli(['simulate', '--fast', '--count', '20', '--seed', '8', '--start', start]);
    expect(result.code).toBe(0);
    const meter = new VirtualMeter({ dsmr: '5', seed: 8, startMs: Date.parse(start) });
    const expected = Array.from({ length: 20 }, (_, i) => meter.telegramAt(Date.parse(start) + i * 1000)).join('');
    expect(result.stdout).toBe(expected);
    const events = frame(Buffer.from(result.stdout, 'latin1'));
    expect(events.filter((e) => e.type === 'telegram' && e.crc === 'ok').length).toBe(20);
  });

  it('--dsmr 2.2 writes telegrams without CRC, ten seconds apart', async () => {
    const result = await runCli(['simulate', '--dsmr', '2.2', '--fast', '--count', '3', '--start', '2024-05-01T10:00:00Z']);
    expect(result.code).toBe(0);
    const events = frame(Buffer.from(result.stdout, 'latin1'));
    expect(events.map((e) => e.type)).toEqual(['telegram', 'telegram', 'telegram']);
    const telegrams = events.flatMap((e) => (e.type === 'telegram' ? [parseTelegram(e.raw, { crc: e.crc })] : []));
    expect(telegrams.every((t) => t.crc === 'none' && t.objects['0-1:24.3.0']?.time === '2024-05-01T12:00:00+02:00')).toBe(true);
  });

  it('--out writes to a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-sim-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'out.txt');
    const result = await runCli(['simulate', '--fast', '--count', '5', '--out', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(frame(await readFile(path)).filter((e) => e.type === 'telegram').length).toBe(5);
  });

  it('--out a file for 200 telegrams: waits for the file to drain without piling up listeners (no warning)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-sim-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'out.txt');
    const result = await runCli(['simulate', '--fast', '--count', '200', '--out', path]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('Warning');
    expect(frame(await readFile(path)).filter((e) => e.type === 'telegram').length).toBe(200);
  });

  it('--listen serves telegrams to `p1logger read --source tcp:...`', async () => {
    const sim = spawnTracked(['simulate', '--listen', '127.0.0.1:0', '--interval', '0.1']);
    await until(() => /listening on 127\.0\.0\.1:\d+/.test(sim.stderr()), 20_000, 'the simulator to listen');
    const port = /listening on 127\.0\.0\.1:(\d+)/.exec(sim.stderr())![1];
    const read = await runCli(['read', '--source', `tcp:127.0.0.1:${port}`, '--count', '3']);
    expect(read.code).toBe(0);
    const lines = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as { crc: string; header: string });
    expect(lines.length).toBe(3);
    expect(lines.every((l) => l.crc === 'ok' && l.header === 'SIM5P1LOGGER-DSMR5')).toBe(true);
    sim.child.kill('SIGTERM');
    expect(await sim.exit).toBe(0);
  });

  it('--out a pty with --even-parity: `read` auto-detects a DSMR 2.2/3 meter at 9600 7E1', async () => {
    const pair = await SocatPair.start();
    cleanups.push(() => pair.stop());
    const sim = spawnTracked(['simulate', '--dsmr', '2.2', '--interval', '0.2', '--even-parity', '--out', pair.meter]);
    const read = await runCli(['read', '--source', `serial:${pair.reader}`, '--count', '2'], { timeoutMs: 30_000 });
    expect(read.code).toBe(0);
    expect(read.stderr).toContain('found a meter at 9600 7E1 (DSMR 2.2/3)');
    expect(read.stderr).toContain('P1_PARITY_7E1');
    const lines = read.stdout.trim().split('\n').map((l) => JSON.parse(l) as { crc: string; header: string });
    expect(lines.map((l) => [l.header, l.crc])).toEqual([
      ['SIM5P1LOGGER-DSMR22', 'none'],
      ['SIM5P1LOGGER-DSMR22', 'none'],
    ]);
    sim.child.kill('SIGINT');
    expect(await sim.exit).toBe(0);
  });

  it('--help states the defaults', async () => {
    const result = await runCli(['simulate', '--help']);
    const help = result.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('(default: 1 for DSMR 5, 10 for DSMR 2.2, HAN lists and Smarty)');
    expect(help).toMatch(/choices: "dsmr", "dlms", "smarty", default: "dsmr"/);
    expect(help).toContain('host defaults to 127.0.0.1');
    expect(help).toMatch(/choices: "5", "2.2", default: "5"/);
    expect(help).toContain('(default: 1)');
  });
});

describe('simulate helpers', () => {
  it('parseListen defaults the host to loopback', () => {
    expect(parseListen('2000')).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(parseListen(':2000')).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(parseListen('0.0.0.0:2000')).toEqual({ host: '0.0.0.0', port: 2000 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('host:http')).toThrow(/expected HOST:PORT/);
  });

  it('withEvenParity sets bit 7 so every byte has an even number of ones', () => {
    const out = withEvenParity(Buffer.from('/KMP5 0!', 'latin1'));
    expect(out[0]).toBe(0xaf); // '/' = 0x2f has five ones
    for (const b of out) {
      let ones = 0;
      for (let x = b; x !== 0; x >>= 1) ones += x & 1;
      expect(ones % 2).toBe(0);
    }
  });
});
