import { InvalidArgumentError, type Command } from 'commander';
import { openCapture } from '../sources/capture-file.js';
import { loadConfig } from '../config.js';
import { P1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';
import { rebuildHistory } from '../history/rebuild.js';
import { HistoryStore } from '../history/store.js';
import type { QueueRecord } from '../queue/types.js';
import { TelegramFramer } from '../telegram/frame.js';
import { parseTelegram } from '../telegram/parse.js';
import { frameEvents } from '../telegram/stream.js';
import { parseTimeOption } from './backfill.js';
import type { DataDirFlags } from './status.js';

export interface ImportFlags extends DataDirFlags {
  start?: Date;
  interval: number;
  timeZone?: string;
}

/** Appends handed to the queue together: it writes what arrives during one fsync in the next, in order. */
const CHUNK = 1000;

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('store a raw capture of P1 telegrams in the queue, so that it can be sent anywhere (p1logger backfill)')
    .argument('<file>', 'capture file (bytes as the meter sent them)')
    .option('--config <file>', 'configuration file to take dataDir from (default: /etc/p1logger/config.yaml when it exists)')
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--start <time>', 'receive time of the first telegram, for meters that send no time (DSMR 2.2/3), ISO 8601', parseTimeOption)
    .option('--interval <seconds>', 'seconds between telegrams after --start', parseSeconds, 10)
    .option('--time-zone <zone>', 'tz database zone of the meter clock (DSMR 4/5 times carry their offset)')
    .addHelpText(
      'after',
      "\nEach telegram's receive time is its meter time (0-0:1.0.0); telegrams without one (DSMR 2.2/3) get\n" +
        '--start + n x --interval, n counting from 0. Telegrams with a bad CRC are skipped and counted.\n' +
        'Importing a file twice stores it twice; sinks absorb that (same telegram, same points), and the history\n' +
        '(rebuilt from the first imported telegram on) counts a reading it already has once.\n' +
        'The service must not be running on the data directory (exit 1 naming its lock).\n' +
        'Exit status: 0 when telegrams were stored, 1 when none were or the queue cannot be used, 2 usage errors.',
    )
    .action(async (file: string, flags: ImportFlags) => {
      process.exitCode = await importCommand(file, flags);
    });
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds greater than 0');
  return n;
}

export async function importCommand(file: string, flags: ImportFlags): Promise<number> {
  let input: NodeJS.ReadableStream;
  let dataDir: string;
  let historyZone: string;
  try {
    input = await openCapture(file);
    const config = (await loadConfig({ flags: flags.config === undefined ? {} : { config: flags.config }, resolveSecrets: false })).config;
    dataDir = flags.dataDir ?? config.dataDir;
    historyZone = config.timeZone;
  } catch (error) {
    process.stderr.write(`p1logger import: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  let queue: Queue;
  try {
    // No retention while importing: the history is built from what was imported before anything is removed.
    queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
  } catch (error) {
    process.stderr.write(`p1logger import: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  const framer = new TelegramFramer();
  const parseOptions = flags.timeZone === undefined ? {} : { timeZone: flags.timeZone };
  let index = 0;
  let pending: Array<Promise<QueueRecord>> = [];
  let first: QueueRecord | undefined;
  let last: QueueRecord | undefined;
  let stored = 0;
  let earliest = Number.POSITIVE_INFINITY;
  const flush = async (): Promise<void> => {
    const records = await Promise.all(pending);
    pending = [];
    for (const record of records) earliest = Math.min(earliest, Date.parse(record.receivedAt));
    first ??= records[0];
    last = records[records.length - 1] ?? last;
    stored += records.length;
  };
  let exit = 0;
  try {
    for await (const event of frameEvents(input as AsyncIterable<Buffer>, framer)) {
      if (event.type !== 'telegram') continue;
      const telegram = parseTelegram(event.raw, { crc: event.crc, ...parseOptions });
      let receivedAt: Date;
      if (telegram.time !== null) {
        receivedAt = new Date(telegram.time);
      } else if (flags.start !== undefined) {
        receivedAt = new Date(flags.start.getTime() + index * flags.interval * 1000);
      } else {
        throw new P1Error(
          'P1_USAGE',
          `${file}: telegram ${index + 1} carries no time (DSMR 2.2/3 meters send none): give --start TIME (when the first one was received) and --interval SECONDS`,
        );
      }
      index++;
      pending.push(queue.append(event.raw, receivedAt));
      if (pending.length >= CHUNK) await flush();
    }
    await flush();
    if (stored > 0) {
      // From just before the first: a reading on the hour closes the hour before, which is rebuilt too.
      const built = await rebuildHistory({ queue, store: new HistoryStore(queue, historyZone), timeZone: historyZone, parse: { timeZone: flags.timeZone ?? historyZone }, from: earliest - 1 });
      process.stderr.write(`history rebuilt from ${new Date(earliest).toISOString()}: ${built.hours} hours\n`);
    }
  } catch (error) {
    for (const r of await Promise.allSettled(pending)) if (r.status === 'fulfilled') stored++;
    process.stderr.write(`p1logger import: ${error instanceof Error ? error.message : String(error)}\n`);
    exit = error instanceof P1Error && error.code === 'P1_USAGE' ? 2 : 1;
  } finally {
    await queue.close();
  }
  const s = framer.stats;
  const range = first === undefined || last === undefined ? '' : ` (seq ${first.seq}-${last.seq}, received ${first.receivedAt} to ${last.receivedAt})`;
  process.stderr.write(
    `imported ${stored} telegrams into ${dataDir}${range}; CRC errors: ${s.crcErrors}, invalid: ${s.invalid}, truncated: ${s.truncated}\n`,
  );
  if (exit !== 0) return exit;
  return stored > 0 ? 0 : 1;
}
