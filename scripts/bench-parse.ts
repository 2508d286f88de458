/**
 * Parsing speed and memory (issue 2): an hour of a DSMR 5 meter (the simulator's telegrams, one a second, each
 * different from the last as a real meter's are) framed, CRC-checked and parsed, against the npm packages
 * dsmr-parser (which also checks the CRC) and p1-reader on the same telegrams; then a 100 MB capture of them
 * through `p1logger parse` with its peak RSS. The contestants take turns, and each one's best turn counts: on a
 * shared 2-core machine the second core (where V8 collects garbage and compiles) is sometimes busy, and a
 * contestant measured only then would look up to a third slower.
 * Usage: node --import tsx scripts/bench-parse.ts [--seconds N] [--mb N]
 */
import { createRequire } from 'node:module';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TelegramFramer } from '../src/telegram/frame.js';
import { parseTelegram } from '../src/telegram/parse.js';
import { VirtualMeter } from '../src/sources/virtual-meter.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, mb: { type: 'string', default: '100' } } });
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);
const repo = new URL('..', import.meta.url).pathname;
const start = Date.UTC(2024, 5, 1, 12);
const meter = new VirtualMeter({ dsmr: '5', startMs: start });
const telegrams = Array.from({ length: 3600 }, (_, i) => Buffer.from(meter.telegramAt(start + i * 1000), 'latin1'));
const texts = telegrams.map((t) => t.toString('latin1'));
const averageBytes = telegrams.reduce((sum, t) => sum + t.length, 0) / telegrams.length;
const ROUNDS = 5;

interface Contestant {
  name: string;
  /** Handles telegram number i. */
  run: (i: number) => void;
  best: number;
}

/** Runs `contestant` over the telegrams, in turn, for about `budget` seconds; keeps its best calls per second. */
function turn(contestant: Contestant, budget: number): void {
  let calls = 0;
  const started = process.hrtime.bigint();
  const limit = BigInt(Math.round(budget * 1e9));
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < 1000; i++) contestant.run((calls + i) % telegrams.length);
    calls += 1000;
    elapsed = process.hrtime.bigint() - started;
  }
  contestant.best = Math.max(contestant.best, calls / (Number(elapsed) / 1e9));
}

const framer = new TelegramFramer();
const dsmrParser = require('dsmr-parser') as { parse(text: string): { objects: unknown } };
const parsePacket = require('p1-reader/lib/parsePacket.js') as (text: string) => unknown;
const contestants: Contestant[] = [
  {
    name: 'p1logger (frame + CRC + parse)',
    run: (i) => {
      for (const e of framer.push(telegrams[i]!)) if (e.type === 'telegram') parseTelegram(e.raw, { crc: e.crc });
    },
    best: 0,
  },
  { name: 'dsmr-parser (CRC + parse)', run: (i) => dsmrParser.parse(texts[i]!), best: 0 },
  { name: 'p1-reader (parse, no CRC)', run: (i) => parsePacket(texts[i]!), best: 0 },
];

console.log(`an hour of a DSMR 5 meter (${telegrams.length} telegrams, ${Math.round(averageBytes)} bytes each) with CRC check, ${ROUNDS} turns of ${(seconds / ROUNDS).toFixed(1)} s each, node ${process.version}`);
// p1-reader reports every line it does not know (the CRC line) on console.error: silenced so that it is
// measured parsing, not writing to the terminal.
const reportError = console.error;
console.error = () => undefined;
for (const contestant of contestants) for (let i = 0; i < 20_000; i++) contestant.run(i % telegrams.length); // JIT warm-up
for (let round = 0; round < ROUNDS; round++) for (const contestant of contestants) turn(contestant, seconds / ROUNDS);
console.error = reportError;
if (framer.stats.crcErrors > 0) throw new Error('benchmark telegrams failed their CRC');
for (const { name, best } of contestants) {
  console.log(`${name.padEnd(34)} ${Math.round(best).toLocaleString('en').padStart(10)} telegrams/s  ${((best * averageBytes) / 1e6).toFixed(1).padStart(6)} MB/s  (best turn)`);
}
const [ours, theirs, p1reader] = contestants.map((c) => c.best) as [number, number, number];
console.log(`ratio p1logger / dsmr-parser: ${(ours / theirs).toFixed(2)}x (target >= 3x)`);
console.log(`ratio p1logger / p1-reader:   ${(ours / p1reader).toFixed(2)}x`);

// A large capture through the real command, in constant memory.
const megabytes = Number(values.mb);
const dir = mkdtempSync(path.join(tmpdir(), 'p1-bench-'));
try {
  const capture = path.join(dir, 'capture.txt');
  const out = createWriteStream(capture);
  const copies = Math.ceil((megabytes * 1e6) / averageBytes);
  for (let i = 0; i < copies; i++) if (!out.write(telegrams[i % telegrams.length]!)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
  const started = Date.now();
  // The compiled CLI, as installed (npm run bench builds it first): tsx's own memory would blur the figure.
  const child = spawn(process.execPath, ['--import', path.join(repo, 'scripts/report-max-rss.mjs'), path.join(repo, 'dist/cli.js'), 'parse', '--quiet', capture], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number];
  const secondsTaken = (Date.now() - started) / 1000;
  const maxRss = /max-rss-kb: (\d+)/.exec(stderr)?.[1];
  console.log(`p1logger parse of a ${megabytes} MB capture (${copies.toLocaleString('en')} telegrams, NDJSON to /dev/null): exit ${code}, ${secondsTaken.toFixed(1)} s, peak RSS ${(Number(maxRss) / 1024).toFixed(0)} MB (target < 150 MB)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
