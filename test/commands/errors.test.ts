import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { envWithout } from '../support/env.js';

/** Every error a command prints carries a stable code, on one line, with no stack trace (unless --log-level debug). */
let dir: string;
let busy: Server;
let busyPort: number;
const env = envWithout('P1LOGGER_');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1errors-'));
  await mkdir(join(dir, 'empty'));
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const STACK = /^\s+at |"stack"/m;

const cases: Array<{ args: (dir: string) => string[]; exit: number; code: string; command: string }> = [
  { args: (dir: string) => ['read', '--source', `file:${join(dir, 'capture.txt')}`], exit: 2, code: 'P1_FILE_NOT_FOUND', command: 'read' },
  { args: () => ['read', '--source', 'serial:/dev/ttyUSB0?baud=fast'], exit: 2, code: 'P1_SOURCE_SPEC', command: 'read' },
  { args: (dir: string) => ['parse', join(dir, 'capture.txt')], exit: 2, code: 'P1_FILE_NOT_FOUND', command: 'parse' },
  { args: (dir: string) => ['parse', '--time-zone', 'Mars/Olympus', join(dir, 'capture.txt')], exit: 2, code: 'P1_USAGE', command: 'parse' },
  { args: (dir: string) => ['import', join(dir, 'capture.txt'), '--data-dir', join(dir, 'd')], exit: 2, code: 'P1_FILE_NOT_FOUND', command: 'import' },
  { args: (dir: string) => ['export', '--data-dir', join(dir, 'empty')], exit: 2, code: 'P1_', command: 'export' },
  { args: (dir: string) => ['export', '--data-dir', join(dir, 'empty'), '--from', '2025-01-02', '--to', '2025-01-01'], exit: 2, code: 'P1_USAGE', command: 'export' },
  { args: (dir: string) => ['status', '--data-dir', join(dir, 'empty')], exit: 2, code: 'P1_', command: 'status' },
  { args: (dir: string) => ['backfill', '--data-dir', join(dir, 'empty'), '--sink', 'nosuch', '--from', '2025-01-01'], exit: 2, code: 'P1_USAGE', command: 'backfill' },
  { args: () => ['simulate', '--fast', '--start', 'soon'], exit: 2, code: 'P1_USAGE', command: 'simulate' },
  { args: () => ['simulate', '--listen', '127.0.0.1:BUSY'], exit: 2, code: 'P1_USAGE', command: 'simulate' },
  { args: (dir: string) => ['config', 'check', join(dir, 'missing.yaml')], exit: 2, code: 'P1_FILE_NOT_FOUND', command: 'config check' },
  { args: (dir: string) => ['run', '--source', 'simulate?dsmr=4', '--data-dir', join(dir, 'r')], exit: 2, code: 'P1_CONFIG_INVALID', command: 'run' },
  { args: () => ['read', '--frobnicate'], exit: 2, code: 'P1_USAGE', command: '' },
  { args: () => ['frobnicate'], exit: 2, code: 'P1_USAGE', command: '' },
];

describe('error lines', () => {
  it.each(cases.map((c) => ({ ...c, name: c.args('DIR').join(' ') })))('$name', async ({ args, exit, code, command }) => {
    const result = await runCli(args(dir).map((a) => a.replace('BUSY', String(busyPort))), { env });
    expect(result.code).toBe(exit);
    const first = result.stderr.split('\n')[0]!;
    expect(first).toMatch(new RegExp(`^p1logger${command === '' ? '' : ` ${command}`}: ${code}[A-Z_]*: `));
    expect(result.stderr + result.stdout).not.toMatch(STACK);
  });

  it('a port clash at start: logged with P1_HTTP_LISTEN, not "acquisition failed", no stack; exit 1', async () => {
    const args = ['run', '--source', 'simulate', '--data-dir', join(dir, 'clash'), '--listen', `127.0.0.1:${busyPort}`];
    const result = await runCli(args, { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^p1logger run: P1_HTTP_LISTEN: cannot listen on 127\.0\.0\.1:\d+: address in use/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const fatal = result.stdout.split('\n').filter((l) => l.includes('"level":60')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ code: 'P1_HTTP_LISTEN' });
    expect(String(fatal[0]!.msg)).toMatch(/^cannot start: P1_HTTP_LISTEN: /);
    expect(result.stdout).not.toContain('acquisition failed');
    expect(result.stdout + result.stderr).not.toMatch(STACK);

    const debug = await runCli([...args, '--log-level', 'debug'], { env });
    expect(debug.code).toBe(1);
    expect(debug.stdout).toMatch(/"stack"/);
  });
});
