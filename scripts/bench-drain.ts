/**
 * Backlog drain: 1,000,000 stored DSMR 5 telegrams (--telegrams N for another size) sent to a local InfluxDB 1.6
 * (influxdb-v1:), to VictoriaMetrics (influxdb:, the v2 API through @influxdata/influxdb-client) and to Mosquitto
 * (mqtt://, `publish: all`, every message QoS 1 and acknowledged), and 100,000 stored DLMS frames (a Kamstrup HAN
 * port's lists, list 3 on the hour) to the same InfluxDB, which must drain at least as fast. Prints telegrams/s,
 * points/s, the CPU time and the peak RSS of the draining process (the queue and one uploader, as in `p1logger run`,
 * compiled, in a child process of its own), and for Mosquitto the broker's own CPU time.
 * Targets: >= 20,000 telegrams/s to each, RSS < 150 MB.
 *
 *   node --import tsx scripts/bench-drain.ts [--telegrams N] [--only WORD] [--cpu-prof DIR]
 *
 * --only WORD: only the targets whose label contains WORD (case-insensitive: `--only mosquitto`);
 * --cpu-prof DIR: the draining processes write V8 CPU profiles into DIR (open them in Chrome's DevTools).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../src/queue/queue.js';
import type { FrameProtocol } from '../src/queue/types.js';
import { hanNotification } from '../src/sources/han-meter.js';
import { VirtualMeter } from '../src/sources/virtual-meter.js';
import { Influxd } from '../test/support/influxd.js';
import { Mosquitto } from '../test/support/mosquitto.js';
import { Victoria } from '../test/support/victoria.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** Node's flags as the service runs it (ExecStart of deploy/p1logger.service): the drain is measured as it runs there. */
const serviceNodeFlags = (/^ExecStart=\S*node((?: --\S+)*) /m.exec(readFileSync(join(repoRoot, 'deploy/p1logger.service'), 'utf8'))?.[1] ?? '')
  .trim()
  .split(' ')
  .filter((flag) => flag !== '');

interface DrainResult {
  telegrams: number;
  points: number;
  requests: number;
  seconds: number;
  startRssBytes: number;
  peakRssBytes: number;
  /** Of the RSS, anonymous memory (NaN where /proc/self/status has no RssAnon). */
  peakAnonBytes: number;
  /** Of the RSS, file pages mapped in: the node binary, LevelDB's table files (NaN without RssFile). */
  peakFileBytes: number;
  /** CPU time of the draining process (user + system, its threads included) during the drain. */
  cpuSeconds: number;
}

/**
 * The draining process, as plain JavaScript over the compiled sources (what `p1logger run` is once built: tsx,
 * the TypeScript loader of the tests, alone adds some 35 MB). Opens the queue, drains one sink to the end, reports.
 */
const CHILD = `
const [dist, dataDir, spec, name] = process.argv.slice(2);
const { Queue } = await import(dist + '/queue/queue.js');
const { createSink } = await import(dist + '/sinks/create.js');
const { parseSinkSpec } = await import(dist + '/sinks/spec.js');
const { Uploader } = await import(dist + '/delivery/uploader.js');
const { readFileSync } = await import('node:fs');
// Linux splits RSS into anonymous memory (heap, buffers) and file pages mapped in (LevelDB maps its table files).
const statusKb = (field) => { try { return Number(new RegExp(field + ':\\\\s+(\\\\d+) kB').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024; } catch { return NaN; } };
const startRssBytes = process.memoryUsage().rss;
let peakRssBytes = startRssBytes;
let peakAnonBytes = statusKb('RssAnon');
let peakFileBytes = statusKb('RssFile');
const sampler = setInterval(() => { peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss); peakAnonBytes = Math.max(peakAnonBytes, statusKb('RssAnon')); peakFileBytes = Math.max(peakFileBytes, statusKb('RssFile')); }, 20);
const queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
const last = (await queue.status()).lastSeq ?? 0;
const uploader = new Uploader({ name, sink: createSink(parseSinkSpec(spec), { timeoutMs: 60000, publish: 'all' }), log: queue, publish: 'all', pollIntervalMs: 5 });
const started = performance.now();
const cpuAtStart = process.cpuUsage();
uploader.start();
while ((await queue.cursor(name)) < last) await new Promise((r) => setTimeout(r, 5));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
clearInterval(sampler);
peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
const stats = uploader.stats();
await uploader.stop();
await queue.close();
if (stats.retries > 0 || stats.deadLetters > 0) throw new Error('drain had failures: ' + JSON.stringify(stats));
process.stdout.write(JSON.stringify({ telegrams: stats.sent, points: stats.points, requests: stats.requests, seconds, startRssBytes, peakRssBytes, peakAnonBytes, peakFileBytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\\n');
`;

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

interface Server {
  readonly url: string;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

interface Target {
  label: string;
  /** The server this target drains into, started once for every target that needs it. */
  server: 'influxd' | 'vm' | 'mosquitto';
  spec(server: Server): string;
  name: string;
  dlms?: true;
}

const TARGETS: Target[] = [
  { label: 'InfluxDB 1.6 (influxdb-v1:, /write)', server: 'influxd', spec: (s) => `influxdb-v1:${s.url}?db=bench`, name: 'bench-influxd' },
  { label: 'VictoriaMetrics (influxdb:, v2 API client)', server: 'vm', spec: (s) => `influxdb:${s.url}?org=-&bucket=bench`, name: 'bench-vm' },
  { label: 'DLMS (Kamstrup HAN lists) to InfluxDB 1.6', server: 'influxd', spec: (s) => `influxdb-v1:${s.url}?db=bench`, name: 'bench-dlms', dlms: true },
  { label: 'Mosquitto (mqtt:, publish: all, QoS 1)', server: 'mosquitto', spec: (s) => s.url, name: 'bench-mqtt' },
];

async function startServer(kind: Target['server']): Promise<Server> {
  if (kind === 'mosquitto') return Mosquitto.start();
  if (kind === 'vm') return Victoria.start();
  const influxd = await Influxd.start();
  await influxd.createDatabase('bench');
  return influxd;
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (NaN where there is none). */
function processCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

await main(Number(option('--telegrams') ?? 1_000_000), option('--only'), option('--cpu-prof'));

async function main(count: number, only: string | undefined, cpuProfileDir: string | undefined): Promise<void> {
  const targets = TARGETS.filter((t) => only === undefined || t.label.toLowerCase().includes(only.toLowerCase()));
  if (targets.length === 0) throw new Error(`--only ${only}: no target's label has it`);
  const dir = await mkdtemp(join(tmpdir(), 'p1logger-bench-drain-'));
  const dataDir = join(dir, 'data');
  const dlmsDir = join(dir, 'data-dlms');
  const servers = new Map<Target['server'], Server>();
  try {
    // The sources compiled as `npm run build` does, into the temp dir, next to the child script.
    const dist = join(dir, 'dist');
    await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', dist, '--sourceMap', 'false']);
    await writeFile(join(dir, 'child.mjs'), CHILD);
    // The compiled files find their packages (level, got, ...) through this.
    await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
    if (targets.some((t) => t.dlms !== true)) {
      const generated = performance.now();
      await fill(dataDir, count);
      console.log(`stored ${count.toLocaleString('en-US')} DSMR 5 telegrams in ${((performance.now() - generated) / 1000).toFixed(1)} s`);
    }
    if (targets.some((t) => t.dlms === true)) {
      const dlmsCount = Math.min(count, 100_000);
      await fill(dlmsDir, dlmsCount, dlmsFrame);
      console.log(`stored ${dlmsCount.toLocaleString('en-US')} DLMS frames`);
    }
    for (const target of targets) if (!servers.has(target.server)) servers.set(target.server, await startServer(target.server));

    const profiling = cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir];
    console.log(`\nnode flags of the service (deploy/p1logger.service): ${serviceNodeFlags.join(' ') || 'none'}`);
    console.log('| target | telegrams/s | points/s | requests | seconds | CPU seconds | CPU µs/telegram | server CPU µs/telegram | RSS at start | peak RSS | peak RSS anonymous | peak RSS file-backed |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
    for (const target of targets) {
      const server = servers.get(target.server)!;
      const serverCpuAtStart = processCpuSeconds(server.pid);
      const argv = [...serviceNodeFlags, ...profiling, join(dir, 'child.mjs'), dist, target.dlms === true ? dlmsDir : dataDir, target.spec(server), target.name];
      const r = JSON.parse(await run(process.execPath, argv)) as DrainResult;
      // From the child's start to its end, the connection and the drain's tail included: a little more than the drain.
      const serverCpuSeconds = processCpuSeconds(server.pid) - serverCpuAtStart;
      const perSecond = (n: number): string => Math.round(n / r.seconds).toLocaleString('en-US');
      const perTelegram = (seconds: number): string => (Number.isNaN(seconds) ? '?' : ((seconds / r.telegrams) * 1e6).toFixed(0));
      console.log(
        `| ${target.label} | ${perSecond(r.telegrams)} | ${perSecond(r.points)} | ${r.requests} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${perTelegram(r.cpuSeconds)} | ${perTelegram(serverCpuSeconds)} | ${mb(r.startRssBytes)} | ${mb(r.peakRssBytes)} | ${mb(r.peakAnonBytes)} | ${mb(r.peakFileBytes)} |`,
      );
    }
    console.log('');
    console.log('targets: >= 20,000 telegrams/s to each; peak RSS of the draining process < 150 MB; the DLMS drain at least as fast as the DSMR drain to InfluxDB 1.6');
    console.log('(RSS includes file pages mapped in: the node binary, and LevelDB maps its table files; the kernel reclaims those under pressure)');
    console.log('(CPU seconds: the draining process alone, its threads included; server CPU: the server process while the child ran; both on the same machine)');
  } finally {
    for (const server of [...servers.values()].reverse()) await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type Frame = (meter: VirtualMeter, t: number) => { raw: string; protocol: FrameProtocol };

/** A day and more of a DSMR 5 household, one telegram a second, with its CRCs; appended as `p1logger run` would. */
function dsmrFrame(meter: VirtualMeter, t: number): ReturnType<Frame> {
  return { raw: meter.telegramAt(t), protocol: 'dsmr' };
}

/** The same household as a Kamstrup HAN port, stored as `p1logger run` stores it (the data-notification APDUs). */
function dlmsFrame(meter: VirtualMeter, t: number): ReturnType<Frame> {
  meter.advance(t);
  const localMs = t + 3_600_000;
  const apdu = hanNotification(meter.reading, { maker: 'kamstrup', localMs, serial: 1, hourly: localMs % 3_600_000 < 1000 });
  return { raw: apdu.toString('latin1'), protocol: 'dlms' };
}

async function fill(dataDir: string, count: number, frame: Frame = dsmrFrame): Promise<void> {
  const start = Date.UTC(2024, 0, 1);
  const meter = new VirtualMeter({ dsmr: '5', startMs: start });
  const queue = await Queue.open(dataDir, { retentionIntervalMs: 0, durability: 'grouped', groupIntervalMs: 50 });
  try {
    for (let i = 0; i < count; i += 5000) {
      const chunk = [];
      for (let j = i; j < Math.min(i + 5000, count); j++) {
        const t = start + j * 1000;
        const { raw, protocol } = frame(meter, t);
        chunk.push(queue.append(raw, new Date(t), protocol));
      }
      await Promise.all(chunk);
    }
  } finally {
    await queue.close();
  }
}

/** Runs a command to completion; resolves with its stdout, rejects with its stderr. */
function run(command: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${argv.join(' ')} exited ${code}:\n${err}${out}`))));
  });
}
