import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const fixtureDir = fileURLToPath(new URL('../fixtures/telegrams/', import.meta.url));
/** The team's shared corpus, beside the checkout (present on developer machines and in CI). */
export const sharedCorpusDir = fileURLToPath(new URL('../../../shared/telegrams/', import.meta.url));

export function telegramFiles(dir = fixtureDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort();
}

/** A fixture's bytes exactly as stored (CRLF, 0xFF padding and all). */
export function fixtureBytes(name: string, dir = fixtureDir): Buffer {
  return readFileSync(path.join(dir, name));
}

export function hasSharedCorpus(): boolean {
  return existsSync(sharedCorpusDir);
}
