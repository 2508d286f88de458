import { CONFIG_LOOKUP } from '../config/flags.js';
import { InvalidArgumentError, type Command } from 'commander';
import { errorLine } from './error-line.js';
import { openCapture } from '../sources/capture-file.js';
import { P1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';
import { rebuildHistory } from '../history/rebuild.js';
import { HistoryStore } from '../history/store.js';
import type { QueueRecord } from '../queue/types.js';
import { dlmsKeys, meterKeysFromEnv } from '../config/meter-keys.js';
import { FrameDetector } from '../frames/detector.js';
import type { DlmsKeys } from '../frames/gcm.js';
import { parseFrame, storedFrame } from '../frames/stored.js';
import { detectFrames } from '../frames/stream.js';
import { timeArgumentOption, type TimeArgument } from './time-argument.js';
import { configOf, type DataDirFlags } from './status.js';

export interface ImportFlags extends DataDirFlags {
  start?: TimeArgument;
  interval: number;
  timeZone?: string;
}

/** Appends handed to the queue together: it writes what arrives during one fsync in the next, in order. */
const CHUNK = 1000;

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('store a raw capture (DSMR, encrypted DSMR, DLMS) in the queue, so that it can be sent anywhere (p1logger backfill)')
    .argument('<file>', 'capture file (bytes as the meter sent them)')
    .option('--config <file>', `configuration file to take dataDir from (default: ${CONFIG_LOOKUP})`)
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--start <time>', 'receive time of the first telegram, for meters that send no time (DSMR 2.2/3): 2016-11-07T18:00:00Z, or without offset in timeZone', timeArgumentOption)
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
  let keys: DlmsKeys | undefined;
  let start: Date | undefined;
  let historyZone: string;
  try {
    input = await openCapture(file);
    // Keys from the configuration (and its environment) unless only a data directory was given.
    const config = await configOf(flags, flags.dataDir !== undefined && flags.config === undefined ? false : 'meter-keys');
    dataDir = config.dataDir;
    keys = dlmsKeys(config.decryptionKey, config.authenticationKey) ?? (await meterKeysFromEnv());
    start = flags.start?.at(flags.timeZone ?? config.timeZone);
    historyZone = config.timeZone;
  } catch (error) {
    process.stderr.write(`p1logger import: ${errorLine(error)}\n`);
    return 2;
  }
  let queue: Queue;
  try {
    // No retention while importing: the history is built from what was imported before anything is removed.
    queue = await Queue.open(dataDir, { retentionIntervalMs: 0 });
  } catch (error) {
    process.stderr.write(`p1logger import: ${errorLine(error)}\n`);
    return 1;
  }

  const framer = new FrameDetector(keys === undefined ? {} : { keys });
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
    for await (const event of detectFrames(input as AsyncIterable<Buffer>, framer)) {
      const frame = storedFrame(event);
      if (frame === null) continue;
      const time = parseFrame(frame, event.type === 'telegram' ? { crc: event.crc, ...parseOptions } : parseOptions)?.time ?? null;
      let receivedAt: Date;
      if (time !== null) {
        receivedAt = new Date(time);
      } else if (start !== undefined) {
        receivedAt = new Date(start.getTime() + index * flags.interval * 1000);
      } else {
        throw new P1Error(
          'P1_USAGE',
          `${file}: telegram ${index + 1} carries no time (DSMR 2.2/3 meters and some DLMS lists send none): give --start TIME (when the first one was received) and --interval SECONDS`,
        );
      }
      index++;
      pending.push(queue.append(frame.raw, receivedAt, frame.protocol));
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
    process.stderr.write(`p1logger import: ${errorLine(error)}\n`);
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
