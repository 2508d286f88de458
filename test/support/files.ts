import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `text` to `dir/name` with exactly `mode` (writeFile's own mode is masked by the umask); its path. */
export async function writeFileWithMode(dir: string, name: string, text: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}
