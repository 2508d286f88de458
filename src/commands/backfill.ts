import { CONFIG_LOOKUP } from '../config/flags.js';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../config.js';
import { P1Error } from '../errors.js';
import type { Queue } from '../queue/queue.js';
import type { QueueRecord } from '../queue/types.js';
import type { RetryPolicy } from '../delivery/retry-policy.js';
import { createSink, sinkFromConfig } from '../sinks/create.js';
import { resolveSinkSecrets } from '../sinks/secrets.js';
import { isSinkError, type Sink } from '../sinks/sink.js';
import { parseSinkSpec } from '../sinks/spec.js';
import { deliver } from '../delivery/uploader.js';
import { errorLine } from './error-line.js';
import { configOf, withQueue, type DataDirFlags } from './status.js';
import { timeArgumentOption, type TimeArgument } from './time-argument.js';

export interface BackfillFlags extends DataDirFlags {
  sink: string;
  from: TimeArgument;
  to?: TimeArgument;
  timeZone?: string;
  retries: number;
}

/** A one-off command backs off less patiently than the service: someone is waiting for it. */
const BACKFILL_RETRY: RetryPolicy = { baseMs: 1000, capMs: 30_000, maxRetryAfterMs: 5 * 60_000 };
const PROGRESS_EVERY_MS = 100;

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('re-send the stored telegrams of a time range to a sink (one that lost data, or a new one)')
    .requiredOption('--sink <spec|name>', 'where to: a sink spec (influxdb:URL?org=O&bucket=B, influxdb-v1:URL?db=D[&rp=R], cosm:URL/v2/feeds/ID) or the name of a sink in the configuration file')
    .requiredOption('--from <time>', 'first receive time, included (2024-05-01: from midnight in timeZone; 2024-05-01T10:00:00+02:00: that instant)', timeArgumentOption)
    .option('--to <time>', 'receive time to stop before, excluded (same forms; default: everything stored)', timeArgumentOption)
    .option('--config <file>', `configuration file for dataDir and named sinks (default: ${CONFIG_LOOKUP})`)
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--time-zone <zone>', 'tz database zone of dates and times without offset, and of DSMR 2.2/3 meter clocks (default: timeZone of the configuration, Europe/Amsterdam)')
    .option('--retries <n>', 'give up after this many failed attempts of one request (network errors, 5xx, 429)', parseCount, 10)
    .addHelpText(
      'after',
      '\nCredentials of a spec come from the environment: INFLUX_TOKEN, INFLUX_USERNAME/INFLUX_PASSWORD, COSM_API_KEY\n' +
        '(or NAME_FILE naming a file only its owner can read). Re-sending is harmless: the same telegram gives the\n' +
        'same points, which the database overwrites. Records the sink refuses (400/413/422) are listed with the\n' +
        "server's reason. A progress bar is drawn on stderr when it is a terminal; a summary always ends the run.\n" +
        'The service must not be running on the data directory (exit 1 naming its lock).\n' +
        'Exit status: 0 all sent (also an empty range), 1 some refused or the sink failed (the summary says how to\n' +
        'resume), 2 usage errors.',
    )
    .action(async (flags: BackfillFlags) => {
      process.exitCode = await backfillCommand(flags);
    });
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

interface Refused {
  record: QueueRecord;
  reason: string;
}

export async function backfillCommand(flags: BackfillFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let sink: Sink;
  let range: Range;
  try {
    const timeZone = flags.timeZone ?? (await configOf(flags)).timeZone;
    range = { from: flags.from.at(timeZone), ...(flags.to === undefined ? {} : { to: flags.to.at(timeZone) }) };
    if (range.to !== undefined && range.from >= range.to) throw new P1Error('P1_USAGE', '--from must be before --to');
    sink = await resolveSink(flags, env);
  } catch (error) {
    process.stderr.write(`p1logger backfill: ${errorLine(error)}\n`);
    return 2;
  }
  return withQueue('backfill', flags, (queue) => backfill(queue, sink, range, flags));
}

interface Range {
  from: Date;
  to?: Date;
}

async function resolveSink(flags: BackfillFlags, env: NodeJS.ProcessEnv): Promise<Sink> {
  const parse = flags.timeZone === undefined ? {} : { parse: { timeZone: flags.timeZone } };
  if (flags.sink.includes(':')) {
    const spec = parseSinkSpec(flags.sink);
    return createSink(spec, { secrets: await resolveSinkSecrets(spec, {}, { env }), ...parse });
  }
  const { config } = await loadConfig({ flags: flags.config === undefined ? {} : { config: flags.config }, env });
  const named = config.sinks.find((s) => s.name === flags.sink);
  if (named === undefined) {
    const names = config.sinks.map((s) => s.name);
    throw new P1Error(
      'P1_USAGE',
      `--sink ${flags.sink}: no sink of that name in the configuration (${names.length === 0 ? 'it has none' : `it has ${names.join(', ')}`}); or give a spec such as influxdb-v1:http://127.0.0.1:8086?db=energy`,
    );
  }
  return sinkFromConfig(named, { env, timeZone: flags.timeZone ?? config.timeZone });
}

async function backfill(queue: Queue, sink: Sink, range: Range, flags: BackfillFlags): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const total = tty ? await countRange(queue, range) : undefined;
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  const started = Date.now();
  let sent = 0;
  let points = 0;
  let retries = 0;
  let lastDraw = 0;
  const refused: Refused[] = [];
  const draw = (final: boolean): void => {
    if (!tty || total === undefined) return;
    const now = Date.now();
    if (!final && now - lastDraw < PROGRESS_EVERY_MS) return;
    lastDraw = now;
    const rate = sent / Math.max((now - started) / 1000, 0.001);
    process.stderr.write(`\r${progressLine(sent + refused.length, total, rate)}${final ? '\n' : ''}`);
  };

  let failed: { error: unknown; afterSeq: number } | undefined;
  try {
    for (let afterSeq = 0; ; ) {
      const page = await queue.readRange({ ...range, afterSeq, limit: sink.maxBatchRecords });
      if (page.length === 0) break;
      try {
        await deliver(page, {
          sink,
          signal: abort.signal,
          policy: BACKFILL_RETRY,
          giveUp: (error, attempt) => !isSinkError(error) || error.code !== 'P1_SINK_UNAVAILABLE' || attempt > flags.retries,
          onRetry: (error, attempt, delayMs) => {
            retries++;
            if (tty) process.stderr.write('\n');
            process.stderr.write(`p1logger backfill: ${errorLine(error)}; attempt ${attempt + 1} in ${(delayMs / 1000).toFixed(1)} s\n`);
          },
          onSuccess: (result, records) => {
            sent += records.length;
            points += result.points;
            draw(false);
          },
          onRejected: (record, error) => {
            refused.push({ record, reason: error.reason });
            return Promise.resolve();
          },
        });
      } catch (error) {
        failed = { error, afterSeq };
        break;
      }
      afterSeq = page[page.length - 1]!.seq;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await sink.close();
  }
  draw(true);

  const seconds = (Date.now() - started) / 1000;
  const lines = [
    `backfill to ${sink.description}: ${sent} telegrams sent (${points} points) in ${seconds.toFixed(1)} s` +
      `${retries > 0 ? `, ${retries} retries` : ''}, ${refused.length} refused`,
  ];
  for (const r of refused.slice(0, 10)) lines.push(`  refused seq ${r.record.seq} (received ${r.record.receivedAt}): ${r.reason}`);
  if (refused.length > 10) lines.push(`  ... and ${refused.length - 10} more`);
  if (failed !== undefined) {
    const interrupted = abort.signal.aborted;
    const error = failed.error;
    const message = isSinkError(error) ? `${error.code}: ${error.reason}` : error instanceof Error ? error.message : String(error);
    lines.push(interrupted ? 'interrupted' : `stopped: ${message}`);
    // Imported captures can make receive times go back and forth in seq order: resume from the earliest unsent.
    const resumeFrom = await earliestReceived(queue, range, failed.afterSeq);
    if (resumeFrom !== undefined) lines.push(`resume with: --from ${resumeFrom}${flags.to === undefined ? '' : ` --to ${range.to!.toISOString()}`}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  return failed === undefined && refused.length === 0 ? 0 : 1;
}

async function countRange(queue: Queue, range: { from: Date; to?: Date }): Promise<number> {
  let count = 0;
  for (let afterSeq = 0; ; ) {
    const page = await queue.readRange({ ...range, afterSeq, limit: 10_000 });
    if (page.length === 0) return count;
    count += page.length;
    afterSeq = page[page.length - 1]!.seq;
  }
}

async function earliestReceived(queue: Queue, range: { from: Date; to?: Date }, afterSeq: number): Promise<string | undefined> {
  let earliest: string | undefined;
  for (let after = afterSeq; ; ) {
    const page = await queue.readRange({ ...range, afterSeq: after, limit: 10_000 });
    if (page.length === 0) return earliest;
    for (const record of page) if (earliest === undefined || record.receivedAt < earliest) earliest = record.receivedAt;
    after = page[page.length - 1]!.seq;
  }
}

/** `[##########----------]  50%  13,500/27,000 telegrams  8,120/s`. Pure. */
export function progressLine(done: number, total: number, ratePerSecond: number, width = 30): string {
  const fraction = total === 0 ? 1 : Math.min(done / total, 1);
  const filled = Math.round(fraction * width);
  const number = (n: number): string => Math.round(n).toLocaleString('en-US');
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${number(done)}/${number(total)} telegrams  ${number(ratePerSecond)}/s`;
}
