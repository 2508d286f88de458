import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { errorLine } from './error-line.js';
import { isP1Error } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { TelegramFramer, type FrameEvent } from '../telegram/frame.js';
import { telegramToJson } from '../telegram/ndjson.js';
import { parseTelegram } from '../telegram/parse.js';
import { DEFAULT_SILENCE_MS, openSource } from '../sources/open.js';

export interface ReadCommandOptions {
  source: string;
  count?: number;
  raw?: boolean;
  silence?: number;
  timeZone?: string;
}

const SPEC_HELP = `
Sources:
  serial:/dev/ttyUSB0[?dsmr=auto|2.2|3|4|5&baud=N&bits=7|8&parity=none|even|odd&stop=1|2&request=dtr|rts|none]
      dsmr=auto (default) tries 115200 8N1 (DSMR 4/5), then 9600 7E1 (DSMR 2.2/3), until a telegram arrives;
      request=dtr (default) holds DTR high while reading (rts: RTS; none: leave the lines alone)
  tcp:HOST:PORT                   ser2net or a P1 Wi-Fi/Ethernet dongle
  file:PATH[?rate=fast|realtime]  replay a capture; fast (default) or at the meter's pace
  simulate[?dsmr=5|2.2&interval=SECONDS&seed=N]
                                  the virtual meter (interval 1 s for DSMR 5, 10 s for 2.2)
Serial ports and TCP reconnect by themselves (unplugged cable, closed peer, silence), with backoff.

Output: stdout carries the telegrams (NDJSON, or the raw text with --raw); stderr carries logs (JSON lines):
connection changes, rejected telegrams, junk bytes, and a summary at the end.
Exit status: 0 after --count telegrams, at the end of a file, or on Ctrl-C/SIGTERM; 1 when the source fails;
2 for usage errors (a bad source spec, a missing file).`;

export function registerRead(program: Command): void {
  program
    .command('read')
    .description('read telegrams from a meter, a dongle, a capture or the simulator, and print them as they arrive')
    .requiredOption('-s, --source <spec>', 'where the bytes come from (see below)')
    .option('-n, --count <n>', 'stop after N valid telegrams (default: until Ctrl-C or the end of a file)', positiveInteger)
    .option('--raw', 'print the telegram text as received instead of NDJSON', false)
    .option(
      '--silence <seconds>',
      `reconnect a serial/TCP source after this long without a complete telegram (default: ${DEFAULT_SILENCE_MS / 1000})`,
      positiveSeconds,
    )
    .option('--time-zone <zone>', 'tz database zone for DSMR 2.2/3 timestamps (default: Europe/Amsterdam; Europe/Brussels for Fluvius)')
    .addHelpText('after', SPEC_HELP)
    .action(async (options: ReadCommandOptions) => {
      process.exitCode = await readCommand(options);
    });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

/** Junk is reported at most this often, with the bytes since the last report: a wrong baud rate is a flood. */
const JUNK_REPORT_MS = 10_000;

export async function readCommand(options: ReadCommandOptions, logger: Logger = createLogger({ destination: process.stderr })): Promise<number> {
  let source;
  try {
    source = openSource(options.source, {
      logger,
      ...(options.silence === undefined ? {} : { silenceMs: Math.round(options.silence * 1000) }),
    });
  } catch (error) {
    process.stderr.write(`p1logger read: ${errorLine(error)}\n`);
    return 2;
  }

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    // The reader went away (`| head`): stop quietly.
    if (error.code === 'EPIPE') stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', onStdoutError);

  const framer = new TelegramFramer();
  let printed = 0;
  let junkSinceReport = 0;
  let lastJunkReport = 0;
  const parseOptions = options.timeZone === undefined ? {} : { timeZone: options.timeZone };

  /** Returns true when --count is reached. */
  const handle = async (event: FrameEvent): Promise<boolean> => {
    switch (event.type) {
      case 'telegram': {
        const text = options.raw ? event.raw : `${telegramToJson(parseTelegram(event.raw, { ...parseOptions, crc: event.crc }))}\n`;
        // Raw text goes out byte for byte; JSON is UTF-8 like `p1logger parse`.
        await write(text, options.raw ? 'latin1' : 'utf8', controller.signal);
        printed++;
        return options.count !== undefined && printed >= options.count;
      }
      case 'rejected':
        logger.warn({ code: event.code, reason: event.reason, bytes: event.raw.length }, `rejected telegram: ${event.reason}`);
        return false;
      case 'truncated':
        logger.warn({ bytes: event.bytes }, `truncated telegram dropped (${event.bytes} bytes)`);
        return false;
      case 'hint':
        logger.warn({ code: event.code }, event.message);
        return false;
      case 'junk': {
        junkSinceReport += event.bytes;
        const now = Date.now();
        if (now - lastJunkReport >= JUNK_REPORT_MS) {
          logger.warn({ bytes: junkSinceReport, total: framer.stats.junkBytes }, `${junkSinceReport} junk bytes skipped (not part of a telegram)`);
          junkSinceReport = 0;
          lastJunkReport = now;
        }
        return false;
      }
    }
  };

  let status = 0;
  try {
    let done = false;
    for await (const chunk of source.read(controller.signal)) {
      for (const event of framer.push(chunk)) {
        if (await handle(event)) {
          done = true;
          break;
        }
      }
      if (done || controller.signal.aborted) break;
    }
    // A file ended: a telegram still open may be complete.
    if (!done && !controller.signal.aborted) {
      for (const event of framer.end()) if (await handle(event)) break;
    }
  } catch (error) {
    if (isP1Error(error)) {
      process.stderr.write(`p1logger read: ${errorLine(error)}\n`);
      status = error.code === 'P1_FILE_NOT_FOUND' || error.code === 'P1_USAGE' || error.code === 'P1_SOURCE_SPEC' ? 2 : 1;
    } else {
      throw error;
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    process.stdout.removeListener('error', onStdoutError);
  }
  const s = framer.stats;
  logger.info(
    {
      printed,
      telegrams: s.telegrams,
      crcErrors: s.crcErrors,
      invalid: s.invalid,
      truncated: s.truncated,
      junkBytes: s.junkBytes,
      reconnects: source.stats.reconnects,
      bytes: source.stats.bytes,
      ...(source.stats.settings === undefined ? {} : { settings: source.stats.settings }),
    },
    'read finished',
  );
  return status;
}

/** Writes to stdout, waiting for it to drain (a slow pipe), but never past a stop. */
async function write(text: string, encoding: BufferEncoding, signal: AbortSignal): Promise<void> {
  if (process.stdout.write(text, encoding)) return;
  if (signal.aborted) return;
  await once(process.stdout, 'drain', { signal }).catch(() => undefined);
}
