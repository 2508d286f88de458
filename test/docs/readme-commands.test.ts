import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/queue/queue.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { cliArgs, repoRoot, runCli } from '../support/cli.js';
import { freePort } from '../support/free-port.js';
import { Influxd } from '../support/influxd.js';
import { SocatPair } from '../support/socat.js';
import { TcpMeter } from '../support/tcp-meter.js';
import { envWithout } from '../support/env.js';

/**
 * Every command line in README.md's code blocks works as written: each one is either run here (against a simulated
 * meter on a pseudo-terminal and on TCP, temp data directories, a local InfluxDB 1.6) and must exit as the README
 * says, or listed with the reason it cannot run here. A line added to the README and not classified below fails
 * the first test, and so does an entry here whose line left the README.
 */

/** What a README line stands for when it runs here; each replacement is said once, for every line. */
const SUBSTITUTIONS: Array<{ from: string | RegExp; to: string; why: string }> = [
  { from: /\bnpx p1logger\b/g, to: 'p1logger', why: 'npx would build a copy of the package in its cache first; p1logger here is this checkout (src/cli.ts)' },
  { from: /\/dev\/ttyUSB0|\/dev\/p1\b/g, to: '$PTY', why: 'the P1 cable is a socat pseudo-terminal fed by the simulated meter' },
  { from: '192.168.1.20:2000', to: '127.0.0.1:$METER_PORT', why: 'the dongle is a TCP meter on 127.0.0.1 (tests never leave this machine)' },
  { from: '127.0.0.1:2000', to: '127.0.0.1:$FREE_PORT', why: 'port 2000 may be taken on a shared machine' },
  { from: 'http://127.0.0.1:8086', to: '$INFLUX', why: 'the InfluxDB 1.6 the test starts, on a free port' },
  { from: '/var/lib/p1logger', to: '$DATA', why: 'a temp data directory' },
  { from: /(?<= )DIR\b/g, to: '$DATA', why: 'the placeholder for a data directory' },
  { from: '/etc/p1logger/config.yaml', to: '$CONFIG', why: 'a config of the test: simulated meter, $DATA, sink home-influx = the local InfluxDB' },
  { from: ' [--to ...]', to: '', why: 'an optional part, written as such' },
  { from: /(?<=--config )FILE\b/g, to: '$LETTERS_CONFIG', why: 'the placeholder for a configuration file: a config of the test whose sink home-influx (the local InfluxDB) refused two telegrams, parked before' },
  { from: ' [--sink NAME]', to: ' --sink home-influx', why: 'an optional part, given: the sink of the test\'s config' },
  { from: ' [--from 2025-01-01]', to: ' --from 2025-01-01', why: 'an optional part, given' },
];

/** capture.txt, the README's capture, is of two days ago: recent enough for `history`'s default (the last 31 days). */
const CAPTURE_START = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000 + 12 * 3_600_000);
const CAPTURE_DAY = CAPTURE_START.toISOString().slice(0, 10);

interface Run {
  /** Expected exit status (default 0). */
  exit?: number;
  /** Runs until stopped: started, `ready` waited for in its output, then SIGTERM; it must then exit `exit`. */
  service?: RegExp;
  /** What its output must show (stdout and stderr), as the README describes it. */
  prints?: RegExp;
}
type Entry = { skip: string } | Run;

/** Every command line of the README, exactly as written (trailing comment removed), in README order. */
const LINES: Record<string, Entry> = {
  'npm ci && npx p1logger run': { skip: 'reinstalls node_modules from the registry; `p1logger run` itself is run below' },
  'bash scripts/test.sh': { skip: 'is the whole test run (apt-get, npm ci, vitest): this test is part of it' },
  'p1logger read --source serial:/dev/ttyUSB0': { service: /"crc":"ok"/ },
  'p1logger read --source tcp:192.168.1.20:2000 --raw': { service: /1-0:1\.8\.1\(/ },
  'p1logger read --source file:capture.txt --count 10': {},
  'p1logger simulate --listen 127.0.0.1:2000': { service: /listening on 127\.0\.0\.1:\d+/ },
  'p1logger ports': {},
  'npx p1logger parse capture.txt > telegrams.ndjson': {},
  'npx p1logger detect --source serial:/dev/ttyUSB0': { prints: /protocol: DSMR text telegrams[\s\S]*serial settings: 115200 8N1[\s\S]*source: serial:/ },
  'p1logger run': { service: /acquisition started/ },
  'p1logger run --config /etc/p1logger/config.yaml': { service: /acquisition started/ },
  "p1logger run --source serial:/dev/p1 --data-dir /var/lib/p1logger --sink 'home=influxdb-v1:http://127.0.0.1:8086?db=energy'": { service: /"stored"|acquisition started/ },
  'p1logger status --data-dir /var/lib/p1logger': {},
  'p1logger export --data-dir DIR --from 2025-01-01 --to 2025-01-02 > day.txt': {},
  'p1logger export --data-dir DIR --format ndjson | jq .objects': {},
  // After the `run` lines: the queue holds telegrams, and no service holds it (the README: service stopped).
  'p1logger dead-letters --config FILE [--sink NAME]': { prints: /"sink": "home-influx",\s*"seq": 1,\s*"reason": "HTTP 400: field type conflict"[\s\S]*"seq": 2,/ },
  'p1logger dead-letters --config FILE --resend': { prints: /"sink": "home-influx",\s*"resent": 2,\s*"refused": \[\]/ },
  'p1logger repair --data-dir DIR': { prints: /"action": "none"[\s\S]*"unreadable": 0/ },
  'p1logger import capture.txt --data-dir ./data': {},
  'p1logger import dsmr22.txt --data-dir ./data --start 2016-11-07T18:00:00Z --interval 10': {},
  "p1logger backfill --data-dir ./data --sink 'influxdb-v1:http://127.0.0.1:8086?db=energy' --from 2024-05-01 [--to ...]": {},
  'p1logger backfill --config /etc/p1logger/config.yaml --sink home-influx --from 2024-05-01': {},
  // After the imports: the embedded default's data directory, ./data, holds their telegrams.
  'p1logger history --resolution day': { prints: new RegExp(`^${CAPTURE_DAY}\\b`, 'm') },
  'p1logger history': {},
  'p1logger history --resolution hour --from 2025-01-15 --to 2025-01-16': {},
  'p1logger history --resolution month --from 2024-01 --format csv > months.csv': {},
  'p1logger history --resolution year --format json': { prints: /"resolution": "year"/ },
  'p1logger history rebuild [--from 2025-01-01]': {},
  'git clone <this repository> p1logger && cd p1logger && sudo deploy/install.sh': {
    skip: 'installs into this machine\'s / and starts the systemd service; test/deploy/install.test.ts runs install.sh with --root',
  },
};

/** Command lines of the README's shell code blocks (```sh or bare; not json, yaml, ... and not the diagrams). */
export function readmeCommandLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const [, lang, body] of markdown.matchAll(/^```([\w-]*)\n([\s\S]*?)^```/gm)) {
    if (!['', 'sh', 'bash', 'shell', 'console'].includes(lang!)) continue;
    // A drawing (the data flow) is not a command.
    if (/[\u2500-\u257f\u25b6]/.test(body!)) continue;
    let pending = '';
    for (const raw of body!.split('\n')) {
      const line = raw.replace(/^\$ /, '');
      if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1).trim()} `;
        continue;
      }
      const full = `${pending}${line}`.replace(/\s+#\s.*$/, '').trim();
      pending = '';
      if (full !== '') lines.push(full);
    }
  }
  return lines;
}

/** The line as run: each substitution's `$NAME` replaced by its value here (inside quotes too). */
function substitute(line: string): string {
  let out = line;
  for (const { from, to } of SUBSTITUTIONS) {
    const value = to.replace(/\$([A-Z_]+)/g, (_, name: string) => env[name] ?? '');
    out = typeof from === 'string' ? out.split(from).join(value) : out.replace(from, value);
  }
  return out;
}

let work: string;
let bin: string;
let influxd: Influxd;
let pty: SocatPair;
let tcpMeter: TcpMeter;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'p1readme-'));
  // `p1logger` on PATH is this checkout's CLI, exec'd so that a signal reaches it.
  bin = join(work, 'bin');
  await mkdir(bin);
  const quoted = [process.execPath, ...cliArgs([])].map((a) => `'${a}'`).join(' ');
  await writeFile(join(bin, 'p1logger'), `#!/bin/sh\nexec ${quoted} "$@"\n`);
  await chmod(join(bin, 'p1logger'), 0o755);

  const [started, pair, meter] = await Promise.all([Influxd.start(), SocatPair.start(), TcpMeter.start()]);
  influxd = started;
  pty = pair;
  tcpMeter = meter;
  const virtual = new VirtualMeter({ dsmr: '5', seed: 3, startMs: Date.now() });
  pty.feed(() => virtual.telegramAt(Date.now()), 250);
  tcpMeter.feed(() => virtual.telegramAt(Date.now()), 250);

  const data = join(work, 'var-lib-p1logger');
  const config = join(work, 'config.yaml');
  await writeFile(config, `source: simulate?interval=0.2\ndataDir: ${data}\nsinks:\n  - name: home-influx\n    url: influxdb-v1:${influxd.url}?db=energy\n`);
  await chmod(config, 0o640);
  // A data directory whose sink refused two telegrams (the cause since fixed): what `dead-letters` lists and resends.
  const lettersData = join(work, 'letters-data');
  const letters = await Queue.open(lettersData, { retentionIntervalMs: 0, reserveBytes: 0 });
  const refusedMeter = new VirtualMeter({ dsmr: '5', seed: 4, startMs: Date.parse('2025-01-14T08:00:00Z') });
  for (const at of [Date.parse('2025-01-14T08:00:00Z'), Date.parse('2025-01-14T08:00:10Z')]) {
    await letters.park('home-influx', await letters.append(refusedMeter.telegramAt(at), new Date(at)), 'HTTP 400: field type conflict');
  }
  await letters.close();
  const lettersConfig = join(work, 'letters.yaml');
  await writeFile(lettersConfig, `dataDir: ${lettersData}\nsinks:\n  - name: home-influx\n    url: influxdb-v1:${influxd.url}?db=energy\n`);
  // The files the README's lines name, in the directory they run in.
  for (const [name, args] of [
    ['capture.txt', ['--start', CAPTURE_START.toISOString(), '--count', '50']],
    ['dsmr22.txt', ['--start', '2025-01-14T08:00:00Z', '--dsmr', '2.2', '--count', '5']],
  ] as const) {
    const made = await runCli(['simulate', '--fast', ...args, '--out', join(work, name)]);
    expect(made.code, made.stderr).toBe(0);
  }
  env = {
    ...envWithout('P1LOGGER_', 'INFLUX_', 'COSM_'),
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    // The README's own defaults, 127.0.0.1:8080 and /etc/p1logger/config.yaml, may be another service's here.
    P1LOGGER_HTTP_LISTEN: '127.0.0.1:0',
    P1LOGGER_CONFIG: join(work, 'no-default-config.yaml'),
    P1LOGGER_LOG_LEVEL: 'info',
    PTY: pty.reader,
    METER_PORT: String(tcpMeter.port),
    FREE_PORT: String(await freePort()),
    INFLUX: influxd.url,
    DATA: data,
    CONFIG: config,
    LETTERS_CONFIG: lettersConfig,
  };
  // An empty file stands for "no /etc/p1logger/config.yaml": the embedded default.
  await writeFile(env.P1LOGGER_CONFIG!, '# none\n');
}, 120_000);

afterAll(async () => {
  pty?.stopFeeding();
  tcpMeter?.stopFeeding();
  await Promise.allSettled([influxd?.close(), pty?.stop(), tcpMeter?.close()]);
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  output: string;
}

/** Runs one line in bash (pipefail) in the work directory; a service is stopped with SIGTERM once ready. */
function execute(command: string, service: RegExp | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // exec: the signal goes to the command itself, not to a shell that would exit without waiting for it.
    const script = service === undefined ? `set -o pipefail; ${command}` : `exec ${command}`;
    const child = spawn('bash', ['-c', script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stopped = false;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('latin1');
      if (service !== undefined && !stopped && service.test(output)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: service !== undefined && !stopped ? `never ready (${service.source}):\n${output}` : output });
    });
  });
}

describe('README.md command lines', () => {
  it('every line is run here or listed with why not; the list holds no line the README lost', async () => {
    const lines = readmeCommandLines(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    const unclassified = lines.filter((line) => !(line in LINES));
    expect(unclassified, 'README lines not in test/docs/readme-commands.test.ts LINES: run them or say why not').toEqual([]);
    expect(Object.keys(LINES).filter((line) => !lines.includes(line)), 'LINES entries no longer in the README').toEqual([]);
  });

  for (const [line, entry] of Object.entries(LINES)) {
    if ('skip' in entry) continue;
    it(line, { timeout: 120_000 }, async () => {
      const command = substitute(line);
      const { code, output } = await execute(command, entry.service);
      expect(code, `${command}\n${output.slice(-3000)}`).toBe(entry.exit ?? 0);
      if (entry.prints !== undefined) expect(output, command).toMatch(entry.prints);
    });
  }
});
