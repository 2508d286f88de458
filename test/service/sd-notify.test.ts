import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSystemdNotify } from '../../src/service/sd-notify.js';

/**
 * A stand-in for systemd's notify socket: a Unix datagram socket that prints each message on one line. Like systemd
 * it drops the file descriptor systemd-notify passes for its barrier, which lets systemd-notify finish.
 * (socat keeps that descriptor open, so systemd-notify would wait for its 5 s timeout.)
 */
const RECEIVER = `
use Socket;
$| = 1;
socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!";
print "listening\\n";
while (defined(recv($s, my $buf, 65536, 0))) { $buf =~ s/\\n/|/g; print "$buf\\n"; }
`;

let dir: string;
let receiver: ChildProcess | undefined;
let lines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1notify-'));
  lines = [];
});
afterEach(async () => {
  receiver?.kill('SIGKILL');
  receiver = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function startReceiver(): Promise<string> {
  const path = join(dir, 'notify');
  receiver = spawn('perl', ['-e', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffer = '';
  receiver.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  for (let i = 0; i < 100 && !(lines.includes('listening') && existsSync(path)); i++) await sleep(20);
  expect(lines).toContain('listening');
  return path;
}

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  for (const start = Date.now(); !predicate(); ) {
    if (Date.now() - start > ms) throw new Error(`timed out; received: ${JSON.stringify(lines)}`);
    await sleep(20);
  }
}

describe('systemd notify through systemd-notify', () => {
  it('sends READY with our pid and status, watchdog pings every WATCHDOG_USEC/2, and STOPPING', async () => {
    const socket = await startReceiver();
    const env = { PATH: process.env.PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '300000', WATCHDOG_PID: String(process.pid) };
    const notifier = startSystemdNotify({ env });
    try {
      expect(notifier.enabled).toBe(true);
      expect(notifier.watchdogMs).toBe(150);
      const started = Date.now();
      await notifier.ready('reading serial:/dev/p1');
      // systemd-notify returned only after the message was taken: it is there already.
      expect(lines.some((l) => l.includes('READY=1') && l.includes(`MAINPID=${process.pid}`) && l.includes('STATUS=reading serial:/dev/p1'))).toBe(true);
      expect(Date.now() - started).toBeLessThan(4000);
      await until(() => lines.filter((l) => l.startsWith('WATCHDOG=1')).length >= 3);
      await notifier.stopping();
      expect(lines.some((l) => l.startsWith('STOPPING=1'))).toBe(true);
    } finally {
      await notifier.close();
    }
    const pings = lines.filter((l) => l.startsWith('WATCHDOG=1')).length;
    await sleep(400);
    expect(lines.filter((l) => l.startsWith('WATCHDOG=1')).length).toBe(pings);
  });

  it('close() waits for the ping in flight: nothing arrives after it returned', async () => {
    const socket = await startReceiver();
    // A systemd that is slow to take messages: every ping is still on its way for 300 ms.
    const slow = join(dir, 'slow-notify');
    const started = join(dir, 'started');
    await writeFile(slow, `#!/bin/sh\necho >> ${started}\nsleep 0.3\nexec systemd-notify "$@"\n`, { mode: 0o755 });
    const env = { PATH: process.env.PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) };
    const notifier = startSystemdNotify({ env, command: slow });
    // Close while the first ping is on its way (one at a time: the next waits for it).
    for (let i = 0; i < 250 && !existsSync(started); i++) await sleep(20);
    expect(existsSync(started)).toBe(true);
    await notifier.close();
    const pings = lines.filter((l) => l.startsWith('WATCHDOG=1')).length;
    expect(pings).toBe(1);
    await sleep(500);
    expect(lines.filter((l) => l.startsWith('WATCHDOG=1')).length).toBe(pings);
  });

  it('skips pings while isAlive() says no', async () => {
    const socket = await startReceiver();
    let alive = false;
    const notifier = startSystemdNotify({ env: { PATH: process.env.PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '100000' }, isAlive: () => alive });
    try {
      await sleep(400);
      expect(lines.filter((l) => l.startsWith('WATCHDOG=1'))).toEqual([]);
      alive = true;
      await until(() => lines.some((l) => l.startsWith('WATCHDOG=1')));
    } finally {
      await notifier.close();
    }
  });

  it('does nothing outside systemd, and no pings for a watchdog meant for another process', async () => {
    const outside = startSystemdNotify({ env: { PATH: process.env.PATH }, command: '/nonexistent/systemd-notify' });
    expect(outside.enabled).toBe(false);
    expect(outside.watchdogMs).toBeNull();
    await outside.ready();
    await outside.close();

    const socket = await startReceiver();
    const child = startSystemdNotify({ env: { PATH: process.env.PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' } });
    expect(child.watchdogMs).toBeNull();
    await child.close();
  });
});
