import { once } from 'node:events';
import { CONFIG_LOOKUP } from '../config/flags.js';
import { InvalidArgumentError, type Command } from 'commander';
import { frameBytes, frameToJson } from '../frames/stored.js';
import type { Queue } from '../queue/queue.js';
import { withQueue, type DataDirFlags } from './status.js';

export interface ExportFlags extends DataDirFlags {
  from?: Date;
  to?: Date;
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
    .option('--from <time>', 'first receive time, included (ISO 8601: 2024-05-01, 2024-05-01T10:00:00+02:00)', parseTime)
    .option('--to <time>', 'receive time to stop before, excluded (ISO 8601)', parseTime)
    .option('--format <format>', 'raw (the stored bytes, telegram after telegram; DLMS frames in HDLC frames, decrypted) or ndjson (as `p1logger parse`)', parseFormat, 'raw')
    .option('--time-zone <zone>', 'tz database zone for DSMR 2.2/3 timestamps in ndjson (default: Europe/Amsterdam)')
    .addHelpText(
      'after',
      '\nTimes select on when p1logger received a telegram (a date alone is midnight UTC; a time without offset is\n' +
        'local time). The service must not be running on the data directory (exit 1 naming its lock).\n' +
        'Exit status: 0 ok (also when the range is empty), 1 locked or unreadable, 2 usage errors.',
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await exportCommand(flags);
    });
}

export async function exportCommand(flags: ExportFlags): Promise<number> {
  if (flags.from && flags.to && flags.from >= flags.to) {
    process.stderr.write('p1logger export: --from must be before --to\n');
    return 2;
  }
  const output = new Output();
  try {
    return await withQueue('export', flags, (queue) => exportRecords(queue, flags, output));
  } finally {
    output.close();
  }
}

const EMPTY = Buffer.alloc(0);

async function exportRecords(queue: Queue, flags: ExportFlags, output: Output): Promise<number> {
  const parseOptions = flags.timeZone ? { timeZone: flags.timeZone } : {};
  for (let afterSeq = 0; ; ) {
    const page = await queue.readRange({
      limit: PAGE,
      afterSeq,
      ...(flags.from ? { from: flags.from } : {}),
      ...(flags.to ? { to: flags.to } : {}),
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

function parseTime(value: string): Date {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new InvalidArgumentError('not an ISO 8601 time, e.g. 2024-05-01 or 2024-05-01T10:00:00+02:00');
  }
  return new Date(ms);
}

function parseFormat(value: string): 'raw' | 'ndjson' {
  if (value === 'raw' || value === 'ndjson') return value;
  throw new InvalidArgumentError('expected raw or ndjson');
}

