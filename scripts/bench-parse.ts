/**
 * Parsing speed and memory (issue 2): the DSMR 5 telegram (V5.txt) framed, CRC-checked and parsed in a loop,
 * against the npm packages dsmr-parser (which also checks the CRC) and p1-reader, then a 100 MB capture through
 * `p1logger parse` with its peak RSS. Usage: node --import tsx scripts/bench-parse.ts [--seconds N] [--mb N]
 */
import { createRequire } from 'node:module';
import { readFileSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TelegramFramer } from '../src/telegram/frame.js';
import { parseTelegram } from '../src/telegram/parse.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, mb: { type: 'string', default: '100' } } });
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);
const repo = new URL('..', import.meta.url).pathname;
const v5 = readFileSync(path.join(repo, 'test/fixtures/telegrams/V5.txt'));
const v5Text = v5.toString('latin1');

/** Runs `fn` repeatedly for about `seconds` and returns calls per second. */
function rate(name: string, fn: () => unknown): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up for the JIT
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) fn();
    calls += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const perSecond = calls / (Number(elapsed) / 1e9);
  process.stdout.write(`${name.padEnd(34)} ${Math.round(perSecond).toLocaleString('en').padStart(10)} telegrams/s  ${((perSecond * v5.length) / 1e6).toFixed(1).padStart(6)} MB/s\n`);
  return perSecond;
}

console.log(`parse V5.txt (${v5.length} bytes) with CRC check, ${seconds} s each, node ${process.version}`);
const framer = new TelegramFramer();
const ours = rate('p1logger (frame + CRC + parse)', () => {
  for (const e of framer.push(v5)) if (e.type === 'telegram') parseTelegram(e.raw, { crc: e.crc });
});
if (framer.stats.crcErrors > 0) throw new Error('benchmark telegram failed its CRC');

const dsmrParser = require('dsmr-parser') as { parse(text: string): { objects: unknown } };
const theirs = rate('dsmr-parser (CRC + parse)', () => dsmrParser.parse(v5Text));
const parsePacket = require('p1-reader/lib/parsePacket.js') as (text: string) => unknown;
// p1-reader reports every line it does not know (the CRC line) on console.error: silenced so that it is
// measured parsing, not writing to the terminal.
const reportError = console.error;
console.error = () => undefined;
const p1reader = rate('p1-reader (parse, no CRC)', () => parsePacket(v5Text));
console.error = reportError;
console.log(`ratio p1logger / dsmr-parser: ${(ours / theirs).toFixed(2)}x (target >= 3x)`);
console.log(`ratio p1logger / p1-reader:   ${(ours / p1reader).toFixed(2)}x`);

// A large capture through the real command, in constant memory.
const megabytes = Number(values.mb);
const dir = mkdtempSync(path.join(tmpdir(), 'p1-bench-'));
try {
  const capture = path.join(dir, 'capture.txt');
  const out = createWriteStream(capture);
  const copies = Math.ceil((megabytes * 1e6) / v5.length);
  for (let i = 0; i < copies; i++) if (!out.write(v5)) await once(out, 'drain');
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
