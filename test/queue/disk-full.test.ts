import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { makeTempDir } from './helpers.js';

/**
 * A real full disk: the child runs in its own mount namespace (`unshare -rm`, which works for root and, with user
 * namespaces, for other users) on a 6 MB tmpfs that vanishes with it.
 */
it('a full disk never crashes the queue: it drops the oldest records and keeps storing the newest', async () => {
  const dir = await makeTempDir();
  try {
    const script = `mount -t tmpfs -o size=6m tmpfs "$1" && exec "$2" --import tsx test/queue/children/fill-disk.ts "$1/data"`;
    const child = spawn('unshare', ['-rm', 'sh', '-c', script, 'sh', dir, process.execPath], { cwd: repoRoot, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ otherErrors: 0, storedAfterFirstFull: 1500, contiguous: true, newestKept: true, state: 'up' });
    expect(summary.diskFull).toBeGreaterThan(0);
    expect(summary.firstSeq).toBeGreaterThan(1);
    expect(summary.dropped).toBe((summary.firstSeq as number) - 1);
    expect(summary.seqAfterReopen).toBe((summary.lastSeq as number) + 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
