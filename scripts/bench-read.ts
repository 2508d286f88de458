/**
 * Figures for `p1logger read` (run: node --import tsx scripts/bench-read.ts [--seconds 60] [--telegrams 20000]):
 *  1. CPU time and RSS of a child `p1logger read` consuming the simulated meter at 1 telegram/s (DSMR 5),
 *     measured from /proc/<pid> (utime+stime over the window after the first telegram; VmRSS / VmHWM).
 *  2. The most telegrams/s it sustains from a fast file source (NDJSON and --raw), startup excluded.
 * Uses the built CLI (dist/cli.js) when there is one, else the sources through tsx (say which in the output).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VirtualMeter } from '../src/sources/virtual-meter.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'cli.js');

/** Newest modification time under a directory. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}
// A dist/ older than the sources would measure old code.
const useBuilt = existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'src'));
const cliArgs = (args: string[]): string[] => (useBuilt ? [built, ...args] : ['--import', 'tsx', join(root, 'src', 'cli.ts'), ...args]);

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i === -1 ? undefined : Number(process.argv[i + 1]);
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} wants a positive number`);
  return value;
}

const seconds = flag('seconds', 60);
const telegramCount = flag('telegrams', 20_000);
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** utime + stime of a process, in ms, from /proc/<pid>/stat (fields 14 and 15, after the ")" of the name). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

async function memoryKb(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

async function steadyState(): Promise<void> {
  const child = spawn(process.execPath, cliArgs(['read', '--source', 'simulate?interval=1']), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let lines = 0;
  let first: () => void = () => undefined;
  const firstTelegram = new Promise<void>((resolve) => (first = resolve));
  child.stdout.on('data', (d: Buffer) => {
    for (const byte of d) if (byte === 0x0a) lines++;
    if (lines > 0) first();
  });
  await firstTelegram;
  const pid = child.pid!;
  const cpu0 = await cpuMs(pid);
  const wall0 = performance.now();
  const lines0 = lines;
  let maxRss = 0;
  const deadline = wall0 + seconds * 1000;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, deadline - performance.now())));
    maxRss = Math.max(maxRss, (await memoryKb(pid)).rss);
  }
  const cpu = (await cpuMs(pid)) - cpu0;
  const wall = performance.now() - wall0;
  const memory = await memoryKb(pid);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  console.log(`read from the simulated meter at 1 telegram/s, ${(wall / 1000).toFixed(0)} s after the first telegram:`);
  console.log(`  telegrams printed     ${lines - lines0}`);
  console.log(`  CPU time              ${cpu.toFixed(0)} ms = ${((cpu / wall) * 100).toFixed(2)} % of one core (target < 1 %)`);
  console.log(`  RSS                   ${(memory.rss / 1024).toFixed(1)} MB now, ${(maxRss / 1024).toFixed(1)} MB max sampled, ${(memory.peak / 1024).toFixed(1)} MB peak (target < 80 MB)`);
}

/** Wall time of `p1logger read ARGS` with stdout thrown away. */
async function timeRead(args: string[]): Promise<{ ms: number; lines: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, cliArgs(['read', ...args]), { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
  let lines = 0;
  child.stdout.on('data', (d: Buffer) => {
    for (const byte of d) if (byte === 0x0a) lines++;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`p1logger read ${args.join(' ')} exited ${code}`);
  return { ms: performance.now() - started, lines };
}

async function throughput(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'p1logger-bench-'));
  try {
    const start = Date.UTC(2024, 5, 1);
    const meter = new VirtualMeter({ dsmr: '5', seed: 1, startMs: start });
    const parts: string[] = [];
    for (let i = 0; i < telegramCount; i++) parts.push(meter.telegramAt(start + i * 1000));
    const capture = join(dir, 'capture.txt');
    await writeFile(capture, parts.join(''), 'latin1');
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '');
    // Startup (node, module loading) is paid once per run; subtract it to get the steady rate.
    const startup = Math.min((await timeRead(['--source', `file:${empty}`])).ms, (await timeRead(['--source', `file:${empty}`])).ms);
    const ndjson = await timeRead(['--source', `file:${capture}`]);
    const raw = await timeRead(['--source', `file:${capture}`, '--raw']);
    const mb = Buffer.byteLength(parts.join(''), 'latin1') / 1e6;
    const rate = (ms: number): string => `${Math.round(telegramCount / ((ms - startup) / 1000)).toLocaleString('en')} telegrams/s`;
    console.log(`read from a fast file source (${telegramCount} DSMR 5 telegrams, ${mb.toFixed(1)} MB), startup ${startup.toFixed(0)} ms excluded:`);
    console.log(`  NDJSON (frame + CRC + parse + JSON)  ${rate(ndjson.ms)}`);
    console.log(`  --raw  (frame + CRC)                 ${rate(raw.ms)}`);
    if (ndjson.lines !== telegramCount) throw new Error(`expected ${telegramCount} NDJSON lines, got ${ndjson.lines}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const runtime = useBuilt ? 'built dist/cli.js' : 'sources via tsx (no up-to-date dist/; `npm run build` to measure the built CLI)';
console.log(`p1logger read benchmark, ${runtime}, node ${process.version}`);
await steadyState();
await throughput();
