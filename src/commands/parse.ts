import { once } from 'node:events';
import type { Command } from 'commander';
import { errorLine } from './error-line.js';
import { openCapture } from '../sources/capture-file.js';
import { P1Error } from '../errors.js';
import { meterKeysFromEnv } from '../config/meter-keys.js';
import { FrameDetector } from '../frames/detector.js';
import { frameToJson, storedFrame } from '../frames/stored.js';
import { detectFrames } from '../frames/stream.js';
import { parseTelegram } from '../telegram/parse.js';
import { telegramToJson } from '../telegram/ndjson.js';

export interface ParseCommandOptions {
  timeZone?: string;
  quiet?: boolean;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description('parse a capture (file or stdin) into NDJSON, one object per valid telegram: DSMR text, encrypted DSMR, DLMS in HDLC or M-Bus frames')
    .argument('[file]', 'capture file; "-" or none reads stdin', '-')
    .option('--time-zone <zone>', 'tz database zone for DSMR 2.2/3 timestamps, which carry no S/W flag (default: Europe/Amsterdam; Europe/Brussels for Fluvius meters)')
    .option('-q, --quiet', 'no per-telegram problems on stderr, only the summary', false)
    .addHelpText(
      'after',
      '\nOutput: NDJSON on stdout; rejected telegrams and a summary on stderr. DLMS readings are\n' +
        '{"protocol":"dlms","maker","list","layout","meter","time","objects"} with objects keyed by OBIS.\n' +
        'Keys of a meter that encrypts: P1LOGGER_DECRYPTION_KEY and P1LOGGER_AUTHENTICATION_KEY (32 hex digits), or their _FILE forms.\n' +
        'Exit status: 0 when at least one telegram parsed, 1 when none did, 2 for usage errors (a missing file).',
    )
    .action(async (file: string, options: ParseCommandOptions) => {
      process.exitCode = await parseCommand(file, options);
    });
}

/** Streams the capture through the framer and parser in constant memory; returns the exit status. */
export async function parseCommand(file: string, options: ParseCommandOptions): Promise<number> {
  // `p1logger parse big.txt | head`: a reader that goes away is the end of the job, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  let input: NodeJS.ReadableStream;
  let keys;
  try {
    if (options.timeZone !== undefined) assertTimeZone(options.timeZone);
    keys = await meterKeysFromEnv();
    input = file === '-' ? process.stdin : await openCapture(file);
  } catch (error) {
    process.stderr.write(`p1logger parse: ${errorLine(error)}\n`);
    return 2;
  }
  const framer = new FrameDetector(keys === undefined ? {} : { keys });
  const report = (line: string): void => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  let index = 0;
  const parseOptions = options.timeZone ? { timeZone: options.timeZone } : {};
  for await (const event of detectFrames(input as AsyncIterable<Buffer>, framer)) {
    switch (event.type) {
      case 'telegram': {
        index++;
        const telegram = parseTelegram(event.raw, { crc: event.crc, ...parseOptions });
        for (const e of telegram.errors ?? []) report(`telegram ${index}, line ${e.line}: ${e.reason}: ${e.text}`);
        if (!process.stdout.write(`${telegramToJson(telegram)}\n`)) await once(process.stdout, 'drain');
        break;
      }
      case 'dlms': {
        index++;
        const json = frameToJson(storedFrame(event)!, parseOptions);
        if (json !== null && !process.stdout.write(`${json}\n`)) await once(process.stdout, 'drain');
        break;
      }
      case 'frame-rejected':
        report(`rejected ${event.transport} frame (${event.code}): ${event.reason}`);
        break;
      case 'detected':
        break;
      case 'rejected':
        report(`rejected telegram (${event.code}): ${event.reason}`);
        break;
      case 'truncated':
        report(`truncated telegram dropped (${event.bytes} bytes)`);
        break;
      case 'hint':
        report(`hint (${event.code}): ${event.message}`);
        break;
      case 'junk':
        break;
    }
  }
  const s = framer.stats;
  process.stderr.write(
    `telegrams ok: ${s.telegrams}, CRC errors: ${s.crcErrors}, invalid: ${s.invalid}, truncated: ${s.truncated}, junk bytes: ${s.junkBytes}` +
      (s.frames + s.decryptErrors + s.keyMissing > 0 ? `, DLMS frames ok: ${s.frames}, decryption failures: ${s.decryptErrors}, encrypted without key: ${s.keyMissing}` : '') +
      '\n',
  );
  return s.telegrams + s.frames > 0 ? 0 : 1;
}

function assertTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch (error) {
    throw new P1Error('P1_USAGE', `--time-zone: "${zone}" is not a tz database zone (e.g. Europe/Amsterdam)`, { cause: error });
  }
}
