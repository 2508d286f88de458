import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/cli.js';

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
}

const json = async <T>(name: string): Promise<T> => JSON.parse(await readFile(join(repoRoot, name), 'utf8')) as T;

describe('package.json', () => {
  it('decides for every dependency with an install script whether it runs (npm ci prints no allowScripts warning)', async () => {
    const pkg = await json<{ allowScripts?: Record<string, boolean> }>('package.json');
    const lock = await json<{ packages: Record<string, LockEntry> }>('package-lock.json');
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(Object.keys(pkg.allowScripts ?? {}).sort()).toEqual([...new Set(withScripts)].sort());
  });

  it('installs one copy of the serial port bindings (no older one pulled in by a devDependency)', async () => {
    const lock = await json<{ packages: Record<string, LockEntry> }>('package-lock.json');
    const copies = Object.keys(lock.packages).filter((path) => path.endsWith('node_modules/@serialport/bindings-cpp'));
    expect(copies).toEqual(['node_modules/@serialport/bindings-cpp']);
  });
});
