import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { isP1Error } from '../errors.js';

/** What opening did about a damaged queue: LevelDB's repair worked, or the queue was moved aside and a new one begun. */
export interface CorruptionEvent {
  at: string;
  action: 'repaired' | 'movedAside';
  /** What was wrong, as LevelDB (or the record check) said it. */
  reason: string;
  /** Where the damaged queue went (movedAside only). */
  movedTo: string | null;
}

/** LevelDB's "Corruption: ..." (at open or on a read) or a record that fails its own check (P1_QUEUE_CORRUPT). */
export function isCorruption(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isP1Error(e, 'P1_QUEUE_CORRUPT') || (e as NodeJS.ErrnoException).code === 'LEVEL_CORRUPTION' || /\bCorruption\b/.test(e.message)) return true;
  }
  return false;
}

/** LevelDB's own repair: rebuilds the manifest from the tables and logs it finds, keeping every record it can read. */
export async function repairLevelDb(dbDir: string): Promise<void> {
  // `level` is classic-level on Node; its type leaves the static repair out.
  await (Level as unknown as { repair(location: string): Promise<void> }).repair(dbDir);
}

/** Renames `<dataDir>/queue` to `<dataDir>/queue.corrupt-<time>`, kept for a human to look at; returns the new path. */
export async function moveAside(dataDir: string, dbDir: string, now: Date): Promise<string> {
  const target = join(dataDir, `queue.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`);
  await rename(dbDir, target);
  return target;
}

/** Queues moved aside earlier that are still there (the operator removes them once looked at). */
export async function corruptCopies(dataDir: string): Promise<string[]> {
  try {
    return (await readdir(dataDir)).filter((name) => name.startsWith('queue.corrupt-')).sort().map((name) => join(dataDir, name));
  } catch {
    return [];
  }
}
