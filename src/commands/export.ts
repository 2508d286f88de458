import { once } from 'node:events';
import { CONFIG_LOOKUP } from '../config/flags.js';
import { InvalidArgumentError, type Command } from 'commander';
import { frameBytes, frameToJson } from '../frames/stored.js';
import type { Queue } from '../queue/queue.js';
import { errorLine } from './error-line.js';
import { configOf, withQueue, type DataDirFlags } from './status.js';
import { timeArgumentOption, type TimeArgument } from './time-argument.js';

export interface ExportFlags extends DataDirFlags {
  from?: TimeArgument;
  to?: TimeArgument;
  format: 'raw' | 'ndjson';
  timeZone?: string;
}

const PAGE = 1000;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the stored telegrams of a time range: the raw bytes as received, or parsed NDJSON')
    .option('--config <file>', `configuration file to take dataDir from (default: ${CONFIG_LOOKUP})`)
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--from <time>', 'first receive time, included (2025-01-01: that day from midnight in timeZone; 2025-01-01T10:00:00+01:00)', timeArgumentOption)
    .option('--to <time>', 'receive time to stop before, excluded (2025-01-02: up to that midnight in timeZone)', timeArgumentOption)
    .option('--format <format>', 'raw (the stored bytes, telegram after telegram) or ndjson (as `p1logger parse`)', parseFormat, 'raw')
    .option('--time-zone <zone>', 'tz database zone of dates and times without offset, and of DSMR 2.2/3 timestamps in ndjson (default: timeZone of the configuration, Europe/Amsterdam)')
    .addHelpText(
      'after',
      '\nTimes select on when p1logger received a telegram. A date is a day in timeZone (the zone of the page\'s "today":\n' +
        '--from 2025-01-01 --to 2025-01-02 is that day there), as is a time without offset; a time with an offset or Z is\n' +
        'that instant. The service must not be running on the data directory (exit 1 naming its lock).\n' +
        'Exit status: 0 ok (also when the range is empty), 1 locked or unreadable, 2 usage errors.',
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await exportCommand(flags);
    });
}

export async function exportCommand(flags: ExportFlags): Promise<number> {
  let range: { from?: Date; to?: Date };
  try {
    const timeZone = flags.timeZone ?? (await configOf(flags)).timeZone;
    range = { ...(flags.from ? { from: flags.from.at(timeZone) } : {}), ...(flags.to ? { to: flags.to.at(timeZone) } : {}) };
  } catch (error) {
    process.stderr.write(`p1logger export: ${errorLine(error)}\n`);
    return 2;
  }
  if (range.from && range.to && range.from >= range.to) {
    process.stderr.write('p1logger export: P1_USAGE: --from must be before --to\n');
    return 2;
  }
  const output = new Output();
  try {
    return await withQueue('export', flags, (queue) => exportRecords(queue, range, flags, output));
  } finally {
    output.close();
  }
}

const EMPTY = Buffer.alloc(0);

async function exportRecords(queue: Queue, range: { from?: Date; to?: Date }, flags: ExportFlags, output: Output): Promise<number> {
  const parseOptions = flags.timeZone ? { timeZone: flags.timeZone } : {};
  for (let afterSeq = 0; ; ) {
    const page = await queue.readRange({
      limit: PAGE,
      afterSeq,
      ...range,
    });
    if (page.length === 0) return 0;
    const chunks = page.map((record) => {
      if (flags.format === 'raw') return frameBytes(record);
      const json = frameToJson(record, parseOptions);
      // A DLMS record this release cannot decode is still exported raw; as NDJSON it has nothing to say.
      return json === null ? EMPTY : Buffer.from(`${json}\n`);
    });
    if (!(await output.write(Buffer.concat(chunks)))) return 0;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** Writes to stdout with backpressure; false once the reader went away (`export | head`): not an error. */
class Output {
  private gone = false;
  private readonly onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') this.gone = true;
  };

  constructor() {
    process.stdout.on('error', this.onError);
  }

  async write(data: Buffer): Promise<boolean> {
    if (this.gone || process.stdout.destroyed) return false;
    try {
      if (!process.stdout.write(data)) await once(process.stdout, 'drain');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
      this.gone = true;
    }
    return !this.gone;
  }

  close(): void {
    // A late EPIPE may still arrive after the last write: keep ignoring it, only it.
    process.stdout.off('error', this.onError);
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

function parseFormat(value: string): 'raw' | 'ndjson' {
  if (value === 'raw' || value === 'ndjson') return value;
  throw new InvalidArgumentError('expected raw or ndjson');
}

