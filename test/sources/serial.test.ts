import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSource } from '../../src/sources/open.js';
import { seededRandom } from '../../src/sources/random.js';
import { cliArgs, repoRoot } from '../support/cli.js';
import { SocatPair, withEvenParity } from '../support/socat.js';
import { captureLog, until } from './log-capture.js';
import { SourceReader } from './read-events.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/telegrams/${name}`, import.meta.url));
const V5 = fixture('V5.txt');
const V4 = fixture('V4_2.txt');
const V22 = fixture('V2_2.txt');
/** Short timings so that reconnects happen in test time. */
const fast = { silenceMs: 1500, backoff: { initialMs: 50, maxMs: 400, minMs: 20 }, detectMs: 700 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function socat(): Promise<SocatPair> {
  const pair = await SocatPair.start();
  cleanups.push(() => pair.stop());
  return pair;
}

function read(spec: string, options: Partial<typeof fast> = {}): { reader: SourceReader; log: ReturnType<typeof captureLog> } {
  const log = captureLog();
  const reader = new SourceReader(openSource(spec, { logger: log.logger, ...fast, ...options }));
  cleanups.push(() => reader.stop());
  return { reader, log };
}

describe('serial source through socat pseudo-terminals', () => {
  it('reads DSMR 4/5 telegrams at 115200 8N1, byte for byte', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}?dsmr=5`);
    expect(reader.source.stats.settings).toBe('115200 8N1 (DSMR 4/5)');
    let n = 0;
    pair.feed(() => (n++ % 2 === 0 ? V5 : V4), 60);
    await until(() => reader.telegrams.length >= 4, 10_000, 'four telegrams');
    expect(reader.telegrams.every((t) => t.crc === 'ok')).toBe(true);
    const raws = new Set(reader.telegrams.map((t) => t.raw));
    expect(raws).toEqual(new Set([V5.toString('latin1'), V4.toString('latin1')]));
    expect(reader.source.stats.state).toBe('open');
    expect(reader.source.stats.bytes).toBeGreaterThan(V5.length);
    // A pty has no modem lines: raising DTR fails, which is said once, and reading goes on.
    expect(log.lines.filter((l) => /cannot raise DTR/.test(l.msg)).length).toBe(1);
  });

  it('auto-detects a DSMR 4/5 meter and says so', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}`);
    pair.feed(() => V5, 60);
    await until(() => reader.telegrams.length >= 2, 10_000, 'two telegrams');
    expect(reader.source.stats.settings).toBe('115200 8N1 (DSMR 4/5)');
    expect(log.text()).toContain('found a meter at 115200 8N1 (DSMR 4/5)');
  });

  it('auto-detects a DSMR 2.2/3 meter from 7E1 bytes (parity bit set) and masks the parity', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}`);
    pair.feed(() => withEvenParity(V22), 60);
    await until(() => reader.telegrams.length >= 2, 10_000, 'two telegrams');
    expect(reader.events.some((e) => e.type === 'hint' && e.code === 'P1_PARITY_7E1')).toBe(true);
    expect(reader.telegrams[0]!.raw).toBe(V22.toString('latin1'));
    expect(reader.telegrams[0]!.crc).toBe('none');
    expect(reader.source.stats.settings).toBe('9600 7E1 (DSMR 2.2/3)');
    expect(log.text()).toContain('found a meter at 9600 7E1 (DSMR 2.2/3)');
  });

  it('reads a DSMR 2.2 meter at 9600 7E1 when told to', async () => {
    const pair = await socat();
    const { reader } = read(`serial:${pair.reader}?dsmr=2.2`);
    expect(reader.source.stats.settings).toBe('9600 7E1 (DSMR 2.2/3)');
    pair.feed(() => withEvenParity(V22), 60);
    await until(() => reader.telegrams.length >= 2, 10_000, 'two telegrams');
    expect(reader.telegrams.every((t) => t.raw === V22.toString('latin1'))).toBe(true);
  });

  it('counts junk from a wrong baud rate, moves on to the other settings, and finds the meter there', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}`);
    // What 9600 baud looks like when read at 115200: bytes that never form a telegram ('/' never occurs).
    const random = seededRandom(11);
    const junk = (): Buffer => Buffer.from(Array.from({ length: 200 }, () => [0x00, 0x80, 0xf8, 0xfe, 0x78, 0xe0][Math.floor(random() * 6)]!));
    pair.feed(junk, 50);
    await until(() => (reader.source.stats.settings ?? '').includes('trying 9600 7E1'), 10_000, 'the switch to 9600 7E1');
    expect(log.lines.some((l) => l.code === 'P1_SOURCE_SILENT')).toBe(true);
    pair.feed(() => withEvenParity(V22), 60);
    await until(() => reader.telegrams.length >= 1, 10_000, 'a telegram');
    expect(reader.framer.stats.junkBytes).toBeGreaterThan(1000);
    expect(reader.source.stats.settings).toBe('9600 7E1 (DSMR 2.2/3)');
  });

  it('survives socat being killed mid-stream and resumes when it returns', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}?dsmr=5`);
    pair.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= 3, 10_000, 'telegrams before the kill');
    // Mid-telegram: half a telegram, then the "cable" is pulled.
    pair.stopFeeding();
    await pair.write(V5.subarray(0, 300));
    await pair.kill();
    await until(() => reader.source.stats.state !== 'open', 5000, 'the source to notice');
    const before = reader.telegrams.length;
    // Gone long enough to be retried more than once (counted, not timed: backoff is slower under load).
    const notFound = (): number => log.lines.filter((l) => l.code === 'P1_PORT_NOT_FOUND').length;
    await until(() => notFound() >= 2, 10_000, 'retries while the port is gone');
    await pair.startSocat();
    pair.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= before + 3, 10_000, 'telegrams after the restart');
    expect(reader.source.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(reader.source.stats.state).toBe('open');
    const warnings = log.lines.filter((l) => l.level >= 40).map((l) => l.code);
    // serialport reports the hang-up as a disconnect; should it miss one, the vanished device node tells.
    expect(warnings, log.text()).toContain('P1_SOURCE_CLOSED');
    expect(warnings).not.toContain('P1_SOURCE_SILENT');
    // While it was gone the link dangled: "not found", warned once however often it was retried.
    expect(warnings.filter((c) => c === 'P1_PORT_NOT_FOUND').length).toBe(1);
    expect(notFound()).toBeGreaterThan(1);
    expect(reader.error).toBeUndefined();
  });

  it('reconnects after silence (no complete telegram for silenceMs)', async () => {
    const pair = await socat();
    const { reader, log } = read(`serial:${pair.reader}?dsmr=5`, { silenceMs: 600 });
    pair.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= 2, 10_000, 'telegrams');
    pair.stopFeeding();
    await until(() => log.lines.some((l) => l.code === 'P1_SOURCE_SILENT'), 5000, 'the silence to be noticed');
    expect(log.text()).toMatch(/no complete telegram for 0\.6 s/);
    const before = reader.telegrams.length;
    pair.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= before + 2, 10_000, 'telegrams after the silence');
    expect(reader.source.stats.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('waits for a device that is not there yet (USB replug), saying so once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-serial-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'reader');
    const { reader, log } = read(`serial:${path}?dsmr=5`);
    const notFound = (): number => log.lines.filter((l) => l.code === 'P1_PORT_NOT_FOUND' && l.level >= 40).length;
    await until(() => notFound() >= 1, 5000, 'not found');
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Retried several times meanwhile (debug lines), warned once.
    expect(notFound()).toBe(1);
    expect(log.lines.filter((l) => l.code === 'P1_PORT_NOT_FOUND').length).toBeGreaterThan(2);
    expect(log.lines.find((l) => l.code === 'P1_PORT_NOT_FOUND')!.msg).toContain(`${path} does not exist (yet)`);
    expect(reader.source.stats.state).toMatch(/waiting|connecting/);
    expect(reader.source.stats.lastError).toMatch(/^P1_PORT_NOT_FOUND: /);
    // The device appears where it was expected, as udev makes /dev/ttyUSB0 on replug.
    const pair = await socat();
    await symlink(await realpath(pair.reader), path);
    pair.feed(() => V5, 50);
    await until(() => reader.telegrams.length >= 2, 10_000, 'telegrams once the device appeared');
    expect(reader.source.stats.reconnects).toBe(0);
  });

  it.each([
    ['a regular file', async (dir: string) => {
      const path = join(dir, 'capture.txt');
      await writeFile(path, V5);
      return path;
    }, /is a regular file, not a serial device/],
    ['/dev/null', () => Promise.resolve('/dev/null'), /\/dev\/null is not a serial device/],
    ['a directory', (dir: string) => Promise.resolve(dir), /is a directory, not a serial device/],
  ])('refuses %s with P1_PORT_NOT_SERIAL, and keeps running', async (_name, make, message) => {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-serial-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = await make(dir);
    const { reader, log } = read(`serial:${path}`);
    await until(() => log.lines.some((l) => l.code === 'P1_PORT_NOT_SERIAL'), 5000, 'P1_PORT_NOT_SERIAL');
    expect(log.lines.find((l) => l.code === 'P1_PORT_NOT_SERIAL')!.msg).toMatch(message);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reader.telegrams.length).toBe(0);
    await reader.stop();
    expect(reader.error).toBeUndefined();
    expect(reader.source.stats.state).toBe('closed');
  });

  it('tells a user without access to the port to join the dialout group (P1_PORT_PERMISSION)', async () => {
    const pair = await socat();
    const device = await realpath(pair.reader);
    const isRoot = process.getuid?.() === 0;
    // Root may open anything: the check runs as `nobody` then, a real unprivileged process.
    await chmod(device, isRoot ? 0o600 : 0o000);
    const command = isRoot ? 'setpriv' : process.execPath;
    const args = [...(isRoot ? ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath] : []), ...cliArgs(['read', '--source', `serial:${device}`])];
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => stderr.includes('P1_PORT_PERMISSION'), 20_000, 'P1_PORT_PERMISSION');
    expect(stderr).toContain('add the user to the dialout group');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
