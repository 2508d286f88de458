import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { errorLine } from './error-line.js';
import { isP1Error } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { FrameEventLog } from '../log/frame-events.js';
import { meterKeysFromEnv } from '../config/meter-keys.js';
import { FrameDetector, type DetectorEvent } from '../frames/detector.js';
import { frameBytes, frameToJson, storedFrame } from '../frames/stored.js';
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
  serial:/dev/ttyUSB0[?protocol=auto|dsmr|dlms&dsmr=auto|2.2|3|4|5&baud=N&bits=7|8&parity=none|even|odd&stop=1|2&request=dtr|rts|none]
      protocol=auto (default) tries 115200 8N1 (DSMR 4/5), 9600 7E1 (DSMR 2.2/3), then the HAN adapters' 2400 8E1
      (Aidon, Kaifa, Landis+Gyr) and 2400 8N1 (Kamstrup), until a frame arrives; dsmr or dlms tries only theirs;
      request=dtr (default) holds DTR high while reading (rts: RTS; none: leave the lines alone)
  tcp:HOST:PORT                   ser2net or a P1 Wi-Fi/Ethernet dongle
  file:PATH[?rate=fast|realtime]  replay a capture; fast (default) or at the meter's pace
  simulate[?dsmr=5|2.2&interval=SECONDS&seed=N]
                                  the virtual meter (interval 1 s for DSMR 5, 10 s for 2.2)
Serial ports and TCP reconnect by themselves (unplugged cable, closed peer, silence), with backoff.

Every source may carry DSMR text, encrypted DSMR (Smarty) or DLMS in HDLC / M-Bus frames: the framer tells them apart.
A meter that encrypts needs P1LOGGER_DECRYPTION_KEY (and P1LOGGER_AUTHENTICATION_KEY where the operator gives one), or their _FILE forms.

Output: stdout carries the telegrams (NDJSON, or the raw bytes with --raw: DLMS decrypted, in HDLC frames); stderr carries logs (JSON lines):
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

/** A kind of bad frame that keeps coming is summarised this often: a wrong baud rate is a flood. */
const FRAME_SUMMARY_MS = 10_000;

export async function readCommand(options: ReadCommandOptions, logger: Logger = createLogger({ destination: process.stderr })): Promise<number> {
  let source;
  let keys;
  try {
    keys = await meterKeysFromEnv();
    source = openSource(options.source, {
      ...(keys === undefined ? {} : { keys }),
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

  const framer = new FrameDetector(keys === undefined ? {} : { keys });
  const frameLog = new FrameEventLog(logger, framer.stats, { summaryMs: FRAME_SUMMARY_MS, junkLevel: 'warn' });
  let printed = 0;
  const parseOptions = options.timeZone === undefined ? {} : { timeZone: options.timeZone };

  /** Returns true when --count is reached. */
  const handle = async (event: DetectorEvent): Promise<boolean> => {
    switch (event.type) {
      case 'telegram':
      case 'dlms': {
        const frame = storedFrame(event)!;
        if (options.raw) {
          // Raw bytes go out byte for byte; JSON is UTF-8 like `p1logger parse`.
          await write(frameBytes(frame).toString('latin1'), 'latin1', controller.signal);
        } else {
          const json = event.type === 'telegram' ? telegramToJson(parseTelegram(event.raw, { ...parseOptions, crc: event.crc })) : frameToJson(frame, parseOptions);
          if (json !== null) await write(`${json}\n`, 'utf8', controller.signal);
        }
        printed++;
        return options.count !== undefined && printed >= options.count;
      }
      default:
        frameLog.event(event);
        return false;
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
  frameLog.flush();
  const s = framer.stats;
  logger.info(
    {
      printed,
      telegrams: s.telegrams,
      ...(s.frames + s.decryptErrors + s.keyMissing > 0 ? { dlmsFrames: s.frames, decryptErrors: s.decryptErrors, keyMissing: s.keyMissing } : {}),
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
