import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { telegramToJson } from '../../src/telegram/ndjson.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { runCli, watchCli, type WatchedCli } from '../support/cli.js';
import { SocatPair } from '../support/socat.js';
import { until } from '../sources/log-capture.js';

const fixturePath = (name: string): string => new URL(`../fixtures/telegrams/${name}`, import.meta.url).pathname;
const V5 = readFileSync(fixturePath('V5.txt'));
const V4 = readFileSync(fixturePath('V4_2.txt'));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p1logger-read-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A running `p1logger read` whose output the test watches. */
function startRead(args: string[]): WatchedCli {
  return watchCli(['read', ...args], cleanups);
}

const logLines = (stderr: string): { level: number; msg: string; code?: string; [k: string]: unknown }[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string });

describe('p1logger read', () => {
  it('prints each telegram of a capture as the NDJSON of `p1logger parse`', async () => {
    const dir = await tempDir();
    const path = join(dir, 'capture.txt');
    await writeFile(path, Buffer.concat([V5, V4]));
    const result = await runCli(['read', '--source', `file:${path}`]);
    expect(result.code).toBe(0);
    const expected = [V5, V4].map((b) => `${telegramToJson(parseTelegram(b.toString('latin1'), { crc: 'ok' }))}\n`).join('');
    expect(result.stdout).toBe(expected);
    const summary = logLines(result.stderr).find((l) => l.msg === 'read finished');
    expect(summary).toMatchObject({ printed: 2, telegrams: 2, crcErrors: 0, junkBytes: 0 });
  });

  it('--raw --count N prints the first N telegrams byte for byte, then stops', async () => {
    const dir = await tempDir();
    const path = join(dir, 'capture.txt');
    await writeFile(path, Buffer.concat([V5, V4, V5, V4]));
    const result = await runCli(['read', '--source', `file:${path}`, '--raw', '--count', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(Buffer.concat([V5, V4]).toString('latin1'));
  });

  it('reports rejected telegrams and junk on stderr, keeps stdout for data', async () => {
    const dir = await tempDir();
    const path = join(dir, 'damaged.txt');
    const corrupt = Buffer.from(V5);
    corrupt[100] = corrupt[100]! ^ 0x01; // one flipped bit: the CRC no longer matches
    const junk = Buffer.from('\x00\xff garbage at the wrong baud rate \xfe\xfe', 'latin1');
    await writeFile(path, Buffer.concat([junk, corrupt, V4]));
    const result = await runCli(['read', '--source', `file:${path}`]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n').length).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ header: 'KFM5KAIFA-METER', crc: 'ok' });
    const lines = logLines(result.stderr);
    expect(lines.find((l) => l.code === 'P1_CRC_MISMATCH')?.msg).toMatch(/^telegram rejected: CRC mismatch/);
    expect(lines.some((l) => /junk bytes skipped/.test(l.msg))).toBe(true);
    expect(lines.find((l) => l.msg === 'read finished')).toMatchObject({ printed: 1, crcErrors: 1, junkBytes: junk.length });
  });

  it('refuses a bad source spec (exit 2) and a missing capture (exit 2), naming them', async () => {
    const bad = await runCli(['read', '--source', 'serial:/dev/ttyUSB0?parity=mark']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('parity "mark" is not allowed; use none or even or odd');
    expect(bad.stdout).toBe('');
    const missing = await runCli(['read', '--source', 'file:/nonexistent/capture.txt']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file: /nonexistent/capture.txt');
  });

  it('stops cleanly on SIGTERM (exit 0) with a summary', async () => {
    const run = startRead(['--source', 'simulate?interval=0.1']);
    await until(() => run.stdout().split('\n').length > 3, 20_000, 'telegrams on stdout');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    for (const line of run.stdout().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ crc: 'ok', version: '50' });
    expect(logLines(run.stderr()).some((l) => l.msg === 'read finished')).toBe(true);
  });

  it('keeps reading a serial port through a socat kill and restart, without being restarted', async () => {
    const pair = await SocatPair.start();
    cleanups.push(() => pair.stop());
    const run = startRead(['--source', `serial:${pair.reader}?dsmr=5`, '--raw', '--silence', '2']);
    const count = (): number => run.stdout().split('!6EEE').length - 1;
    pair.feed(() => V5, 100);
    await until(() => count() >= 3, 20_000, 'telegrams before the kill');
    pair.stopFeeding();
    await pair.write(V5.subarray(0, 500));
    await pair.kill();
    await until(() => run.stderr().includes('P1_PORT_NOT_FOUND'), 10_000, 'the device to be missed');
    const before = count();
    await pair.startSocat();
    pair.feed(() => V5, 100);
    await until(() => count() >= before + 3, 20_000, 'telegrams after the restart');
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    // Whatever was cut off is reported, never printed: stdout holds whole telegrams only.
    expect(run.stdout()).toBe(V5.toString('latin1').repeat(count()));
    const lines = logLines(run.stderr());
    expect(lines.find((l) => l.msg === 'read finished')).toMatchObject({ reconnects: 1 });
  });

  it('says clearly that /dev/null is not a serial port, and does not crash', async () => {
    const run = startRead(['--source', 'serial:/dev/null']);
    await until(() => run.stderr().includes('P1_PORT_NOT_SERIAL'), 20_000, 'P1_PORT_NOT_SERIAL');
    expect(logLines(run.stderr()).find((l) => l.code === 'P1_PORT_NOT_SERIAL')?.msg).toContain('/dev/null is not a serial device');
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('--help states the defaults', async () => {
    const result = await runCli(['read', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('complete telegram (default: 30)');
    expect(result.stdout).toContain('protocol=auto (default)');
    expect(result.stdout).toContain('request=dtr (default)');
  });
});
