/**
 * `npm run bench`: every benchmark of the project in turn (scripts/bench-*.ts), each in its own process so that
 * one's memory does not blur another's figures. Extra arguments are passed to each.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const dir = path.dirname(new URL(import.meta.url).pathname);
const only = process.env.BENCH;
const scripts = readdirSync(dir)
  .filter((f) => /^bench-.+\.ts$/.test(f) && (only === undefined || f.includes(only)))
  .sort();
let failed = 0;
for (const script of scripts) {
  console.log(`\n== ${script}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, script), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
