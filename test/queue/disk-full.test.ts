import { spawn, spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';
import { makeTempDir } from './helpers.js';

/**
 * A real full disk on a real small filesystem, made and removed by the test: the child runs in a mount namespace of
 * its own (`unshare -m`, as root), so the mount vanishes with it whatever happens. Mounting needs root; where it is
 * refused the tests say so and skip.
 */
const filesystems = [
  { name: 'a 40 MB tmpfs', mount: 'mount -t tmpfs -o size=40m tmpfs "$1/mnt"' },
  {
    name: 'a 64 MB ext4 image on a loop device',
    mount: 'truncate -s 64M "$1/disk.img" && mkfs.ext4 -q -m 0 "$1/disk.img" && mount -o loop "$1/disk.img" "$1/mnt"',
  },
];

function mountRefusal(): string | null {
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt && umount /mnt'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `unshare cannot run (${probe.error.message})`;
  return probe.status === 0 ? null : `mounting is refused here (${probe.stderr.trim()})`;
}
const refused = mountRefusal();
if (refused !== null) console.warn(`disk-full tests skipped: ${refused}; they need root to mount a tmpfs and a loop device`);

describe.skipIf(refused !== null).each(filesystems)('on $name filled by another file', ({ mount }) => {
  it('keeps the service running, stores the newest telegrams, drops only the oldest (counted), and recovers', { timeout: 120_000 }, async () => {
    const dir = await makeTempDir();
    try {
      const script = `mkdir "$1/mnt" && ${mount} && exec "$2" --import tsx test/queue/children/fill-disk.ts "$1/mnt/data"`;
      const child = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', dir, process.execPath], { cwd: repoRoot, stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(timer);
      expect(code, stderr).toBe(0);
      const s = JSON.parse(stdout) as Record<string, number | boolean | Record<string, number>>;
      // The reserve fits a small filesystem, and the disk really was full, more than once.
      expect(s.reserveAtStart).toBeGreaterThan(0);
      expect(s.diskFull).toBeGreaterThanOrEqual(3);
      expect(s.serviceFailed).toBe(false);
      // Every telegram was stored, in order: room was made each time, none refused, the newest are there.
      expect(s.storeFailed).toBe(0);
      expect(s.storedInOrder).toBe(true);
      expect(s.lastSeq).toBe(s.fed);
      // What went is the oldest, in one run, and every one is counted (per reason too).
      expect(s.contiguous).toBe(true);
      expect(s.survivorsAreTheNewest).toBe(true);
      expect(s.droppedWhileFull).toBeGreaterThan(0);
      expect(s.dropped).toBe((s.firstSeq as number) - 1);
      const byReason = s.droppedByReason as Record<string, number>;
      expect(Object.values(byReason).reduce((a, b) => a + b, 0)).toBe(s.dropped);
      // Only as much as needed: each full disk took about what recreating the reserve needs, no more than the room
      // for the reserve twice and the free-space floor (the other file took everything each time).
      const bytesPerFullDisk = ((s.droppedWhileFull as number) * (s.bytesPerRecord as number)) / (s.diskFull as number);
      expect(bytesPerFullDisk).toBeLessThan(2 * (s.reserveTargetBytes as number) + (s.minFreeBytes as number));
      expect(s.recordsWhileFull).toBeGreaterThan(0);
      // Space returned: the reserve is back and nothing more is dropped.
      expect(s.reserveAfterSpace).toBeGreaterThan(0);
      expect(s.droppedAfterSpace).toBe(0);
      expect(s.state).toBe('up');
      // The data directory opens afterwards and goes on where it was.
      expect(s.seqAfterReopen).toBe((s.lastSeq as number) + 1);
      expect(s.reopenedRecords).toBe((s.lastSeq as number) - (s.firstSeq as number) + 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
