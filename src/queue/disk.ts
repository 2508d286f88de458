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

/** Size of the filesystem holding `dir`. */
export async function filesystemBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.blocks * fs.bsize;
}

export interface SpaceBudget {
  /** The reserve file's size: enough for LevelDB to reopen on a full disk (it writes its log out as a table). */
  reserveBytes: number;
  /** Retention keeps at least this much free. */
  minFreeBytes: number;
  /** LevelDB's write-ahead log size: an eighth of the reserve at most, so a reopen always fits in it. */
  writeBufferSize: number;
  /** LevelDB's table file size, as small: a compaction that gives space back must first write its output. */
  maxFileSize: number;
}

/** The smallest filesystem the queue is made for (README, "Storage"): below it the minimums below take too much. */
export const MIN_FILESYSTEM_BYTES = 16 * 1024 ** 2;
const MIN_RESERVE = 256 * 1024;
const MIN_FREE = 512 * 1024;
/**
 * LevelDB maps the tables it reads into memory and keeps up to 64 of them open at its smallest table cache
 * (maxOpenFiles in queue.ts); a long drain reads every table, so their size bounds the file-backed memory a drain
 * holds. An append-only queue's tables are memtable flushes that LevelDB puts straight into level 2 (they overlap
 * nothing), about the write buffer's size each: a 1 MiB buffer makes them some 300 KB (19 MB mapped at most; 2 MiB
 * made 600 KB tables, 37 MB mapped). Tables compacted further down are cut at LEVELDB_MAX_FILE.
 */
const LEVELDB_WRITE_BUFFER = 1024 ** 2;
const LEVELDB_MAX_FILE = 256 * 1024;

/**
 * Scales the reserve and the free-space floor to 1/32 of the filesystem each, up to the configured sizes (`caps`;
 * 0 turns one off): 16 MiB and 64 MiB need filesystems of 512 MiB and 2 GiB, a 40 MB tmpfs gets 1.25 MiB for each.
 */
export function spaceBudget(totalBytes: number, caps: { reserveBytes: number; minFreeBytes: number }): SpaceBudget {
  const scaled = (cap: number, fraction: number, min: number): number => (cap <= 0 ? 0 : Math.min(cap, Math.max(min, Math.floor(totalBytes * fraction))));
  const reserveBytes = scaled(caps.reserveBytes, 1 / 32, MIN_RESERVE);
  // Within the reserve, LevelDB must reopen (write its logs out as tables, snappy may not shrink them: there can be
  // two logs, the current one and that of a memtable whose write the full disk stopped) and then compact away the
  // records removed (four level-0 tables and a table of the next level in, as much out): an eighth each.
  const eighth = (leveldbDefault: number): number => (reserveBytes > 0 ? Math.min(leveldbDefault, Math.floor(reserveBytes / 8)) : leveldbDefault);
  return {
    reserveBytes,
    minFreeBytes: scaled(caps.minFreeBytes, 1 / 32, MIN_FREE),
    writeBufferSize: eighth(LEVELDB_WRITE_BUFFER),
    maxFileSize: eighth(LEVELDB_MAX_FILE),
  };
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
