import { open, readdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes the files directly in `dir` occupy (LevelDB keeps a flat directory). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    try {
      const info = await stat(join(dir, name));
      if (info.isFile()) total += info.size;
    } catch {
      // LevelDB deleted the file (a finished compaction) between readdir and stat: it no longer counts.
    }
  }
  return total;
}

/** Bytes an unprivileged process may still write on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/**
 * The reserve (ballast) file: space set aside while the disk has room, given back when it is full.
 * After ENOSPC LevelDB cannot even reopen (recovery writes a table), so without it nothing could be dropped.
 * Written with real zeros and fsynced: a sparse file would reserve nothing.
 */
export async function ensureReserve(path: string, bytes: number): Promise<boolean> {
  if (bytes <= 0) return true;
  try {
    const existing = await stat(path);
    if (existing.size === bytes) return true;
  } catch {
    // Not there yet.
  }
  const handle = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(bytes, 1024 * 1024));
    for (let written = 0; written < bytes; ) {
      const n = Math.min(chunk.length, bytes - written);
      await handle.write(chunk, 0, n);
      written += n;
    }
    await handle.sync();
    return true;
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    if (isDiskFull(error)) return false;
    throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export async function releaseReserve(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch {
    return false;
  }
}

/** ENOSPC from Node, or LevelDB's "IO error: ...: No space left on device" (LEVEL_IO_ERROR, no errno). */
export function isDiskFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || /No space left on device/i.test(e.message)) return true;
  }
  return false;
}
