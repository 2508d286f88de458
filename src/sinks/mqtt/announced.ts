import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What one sink announced to Home Assistant: enough to find the broker again and empty each config. */
export interface Announcement {
  /** The broker (`mqtt://HOST:PORT`). */
  url: string;
  /** The user name it connected with (the password is never written here). */
  username?: string;
  /** Config topics (`homeassistant/sensor/<node>/<object>/config`). */
  topics: string[];
}

export const ANNOUNCED_FILE = 'mqtt-discovery.json';

/**
 * `<data dir>/mqtt-discovery.json`: per sink name, the discovery configs it ever announced, so that the sink's
 * sensors can be removed from Home Assistant (an empty retained config) once the sink is removed from the
 * configuration or its discovery turned off, on the next start. Writes are serialised and atomic (a temp file
 * renamed over the old one), so a crash leaves the old or the new content, never half of one.
 */
export class AnnouncedSensors {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.file = join(dataDir, ANNOUNCED_FILE);
  }

  async load(): Promise<Record<string, Announcement>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, Announcement>) : {};
  }

  /** Adds topics to what `sink` announced (a union: what an earlier run announced stays to be removed). */
  record(sink: string, entry: Announcement): Promise<void> {
    return this.update((all) => {
      const topics = new Set([...(all[sink]?.topics ?? []), ...entry.topics]);
      all[sink] = { ...entry, topics: [...topics].sort() };
    });
  }

  forget(sink: string): Promise<void> {
    return this.update((all) => {
      delete all[sink];
    });
  }

  private update(change: (all: Record<string, Announcement>) => void): Promise<void> {
    const next = this.writing.then(async () => {
      const all = await this.load();
      change(all);
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.tmp`;
      await writeFile(temp, JSON.stringify(all, null, 2) + '\n');
      await rename(temp, this.file);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
