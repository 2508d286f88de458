import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { isP1Error } from '../errors.js';
import { parseLocalTime } from '../history/buckets.js';
import { formatHistory, HISTORY_FORMATS, type HistoryFormat } from '../history/format.js';
import { RESOLUTIONS, type Resolution } from '../history/query.js';
import { rebuildHistory } from '../history/rebuild.js';
import { HistoryRecorder } from '../history/recorder.js';
import { HistoryStore } from '../history/store.js';
import { historyQuery, HistoryQueryError } from '../http/history-api.js';
import type { HistoryAnswer } from '../history/view.js';
import { silentLogger } from '../log.js';
import { Queue } from '../queue/queue.js';
import { findService } from '../client/service-api.js';
import type { DataDirFlags } from './status.js';

export interface HistoryFlags extends DataDirFlags {
  resolution: Resolution;
  from?: string;
  to?: string;
  format: HistoryFormat;
}

export interface RebuildFlags extends DataDirFlags {
  from?: string;
}

const DATA_DIR_OPTIONS: Array<[string, string]> = [
  ['--config <file>', 'configuration file (timeZone, tariffs, dataDir, http.listen; default: /etc/p1logger/config.yaml when it exists)'],
  ['--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)'],
];

export function registerHistory(program: Command): void {
  const history = program
    .command('history')
    .description('print the energy history: kWh per tariff, gas, peaks and costs per hour, day, month or year')
    .addOption(new Option('--resolution <r>', 'rows per').choices(RESOLUTIONS).default('day'))
    .option('--from <time>', 'first row: a local date (2025-01-15), a month (2025-01) or an ISO 8601 time (default: today for hours, 31 days ago for days, January last year for months)')
    .option('--to <time>', 'end, exclusive (default: the end of today)')
    .addOption(new Option('--format <f>', 'output').choices(HISTORY_FORMATS).default('table'));
  for (const [flag, text] of DATA_DIR_OPTIONS) history.option(flag, text);
  history
    .addHelpText(
      'after',
      '\nTimes are in the configuration\'s timeZone; a day runs from local midnight to local midnight (23 or 25 hours\n' +
        'when clocks change). Energy comes from the meter\'s counters; costs appear when `tariffs` are configured.\n' +
        'While `p1logger run` holds the data directory, the running service is asked over its loopback API\n' +
        '(/api/history); otherwise the data directory is read directly.\n' +
        'Exit status: 0 ok, 1 the history cannot be read (locked with no API answering), 2 usage.',
    )
    .action(async (flags: HistoryFlags) => {
      process.exitCode = await historyCommand(flags);
    });

  const rebuild = history
    .command('rebuild')
    .description('build the history again from the telegrams the queue holds (the service must be stopped)')
    .option('--from <time>', 'rebuild from this local date or ISO time on (default: all the queue holds)', checkTime);
  for (const [flag, text] of DATA_DIR_OPTIONS) rebuild.option(flag, text);
  rebuild
    .addHelpText(
      'after',
      '\nHours the queue no longer holds the telegrams of (retention) are kept; an hour is replaced only by one made\n' +
        'from at least as many telegrams. Exit status: 0 done, 1 locked by the running service or unreadable, 2 usage.',
    )
    .action(async (flags: RebuildFlags) => {
      process.exitCode = await rebuildCommand(flags);
    });
}

function checkTime(value: string): string {
  if (parseLocalTime(value, 'UTC') === null) throw new InvalidArgumentError('expected a date YYYY-MM-DD, a month YYYY-MM or an ISO 8601 time');
  return value;
}

async function configOf(flags: DataDirFlags): Promise<Config> {
  return (await loadConfig({ flags: { ...(flags.config === undefined ? {} : { config: flags.config }), ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) }, resolveSecrets: false })).config;
}

function fail(message: string, code: number): number {
  process.stderr.write(`p1logger history: ${message}\n`);
  return code;
}

export async function historyCommand(flags: HistoryFlags): Promise<number> {
  const config = await configOf(flags).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 2));
  if (typeof config === 'number') return config;
  const params = new URLSearchParams({ resolution: flags.resolution });
  if (flags.from !== undefined) params.set('from', flags.from);
  if (flags.to !== undefined) params.set('to', flags.to);
  let answer: HistoryAnswer;
  let queue: Queue | undefined;
  try {
    queue = await Queue.open(config.dataDir, { readOnly: true });
    const recorder = await new HistoryRecorder({ queue, timeZone: config.timeZone, parse: { timeZone: config.timeZone }, logger: silentLogger(), readOnly: true }).open();
    answer = await historyQuery({ source: recorder, tariffs: config.tariffs }, params, Date.now());
  } catch (error) {
    if (error instanceof HistoryQueryError) return fail(error.message, 2);
    if (!isP1Error(error, 'P1_QUEUE_LOCKED')) return fail(error instanceof Error ? error.message : String(error), isP1Error(error, 'P1_FILE_NOT_FOUND') ? 2 : 1);
    // The running service holds the database: ask it, over its loopback API.
    const service = await findService(config.dataDir);
    if (!service.ok) return fail(`${error.message}; ${service.reason}`, 1);
    const url = `${service.api.url}/api/history?${params.toString()}`;
    const asked = await fetchJson(url);
    if (asked.status === 400) return fail(String((asked.body as { error?: unknown }).error), 2);
    if (asked.status !== 200) return fail(`${error.message}; its HTTP API (${url}) did not answer`, 1);
    answer = asked.body as HistoryAnswer;
  } finally {
    await queue?.close();
  }
  process.stdout.write(formatHistory(answer, flags.format, config.ui.tariffNames));
  return 0;
}

async function fetchJson(url: string): Promise<{ status: number; body: unknown }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return { status: response.status, body: await response.json() };
  } catch {
    return { status: 0, body: null };
  }
}

export async function rebuildCommand(flags: RebuildFlags): Promise<number> {
  const config = await configOf(flags).catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 2));
  if (typeof config === 'number') return config;
  const from = flags.from === undefined ? undefined : parseLocalTime(flags.from, config.timeZone) ?? undefined;
  let queue: Queue | undefined;
  try {
    // A directory without a queue is a usage error, not a new empty queue.
    queue = await Queue.open(config.dataDir, { readOnly: true });
    await queue.close();
    // Writable, without retention: it must not remove what is being read.
    queue = await Queue.open(config.dataDir, { retentionIntervalMs: 0 });
    const started = Date.now();
    const result = await rebuildHistory({ queue, store: new HistoryStore(queue, config.timeZone), timeZone: config.timeZone, parse: { timeZone: config.timeZone }, ...(from === undefined ? {} : { from }) });
    const span = result.firstTime === null ? '' : ` from ${new Date(result.firstTime).toISOString()} to ${new Date(result.lastTime ?? result.firstTime).toISOString()}`;
    process.stderr.write(`history rebuilt in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.telegrams} telegrams${span}, ${result.hours} hours written, ${result.runs} run(s) of records\n`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isP1Error(error, 'P1_QUEUE_LOCKED')) return fail(`${message}; stop the service first (systemctl stop p1logger)`, 1);
    return fail(message, isP1Error(error, 'P1_FILE_NOT_FOUND') ? 2 : 1);
  } finally {
    await queue?.close();
  }
}
