import { InvalidArgumentError, type Command } from 'commander';
import { meterKeysFromEnv } from '../config/meter-keys.js';
import { isP1Error } from '../errors.js';
import { FrameDetector } from '../frames/detector.js';
import { detectionReport, newDetection, noteEvent } from '../frames/describe.js';
import { readDlmsRecord } from '../frames/dlms/record.js';
import { storedFrame } from '../frames/stored.js';
import { createLogger, type Logger } from '../log.js';
import { openSource } from '../sources/open.js';
import { parseSourceSpec } from '../sources/spec.js';

export interface DetectOptions {
  source: string;
  timeout: number;
}

const DEFAULT_TIMEOUT_S = 60;

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('listen to a source and say what the meter speaks: protocol, meter, list, serial settings, whether a key is needed, and the config lines to use')
    .requiredOption('-s, --source <spec>', 'where the bytes come from, as for `p1logger read` (a serial port is tried at DSMR and HAN settings in turn)')
    .option('--timeout <seconds>', `give up after this long (default: ${DEFAULT_TIMEOUT_S}; auto-detection on a serial port takes up to 48 s a round)`, seconds, DEFAULT_TIMEOUT_S)
    .addHelpText(
      'after',
      '\nA meter that encrypts is recognised without its key; with P1LOGGER_DECRYPTION_KEY (and P1LOGGER_AUTHENTICATION_KEY)\n' +
        'set, detect also says whether the key is right.\n' +
        'Exit status: 0 when a meter was recognised, 1 when nothing was within the timeout, 2 for usage errors.',
    )
    .action(async (options: DetectOptions) => {
      process.exitCode = await detectCommand(options);
    });
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

export async function detectCommand(options: DetectOptions, logger: Logger = createLogger({ destination: process.stderr, level: 'warn' })): Promise<number> {
  let source;
  let keys;
  try {
    keys = await meterKeysFromEnv();
    source = openSource(options.source, {
      ...(keys === undefined ? {} : { keys }), logger });
  } catch (error) {
    process.stderr.write(`p1logger detect: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const detector = new FrameDetector(keys === undefined ? {} : { keys });
  const detection = newDetection();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout * 1000);
  let status = 0;
  try {
    // Until the first frame that tells the meter apart: a reading, or an encrypted frame that could not be read.
    const done = (): boolean => detection.readings > 0 || detection.key === 'missing' || detection.key === 'wrong';
    const note = (events: ReturnType<FrameDetector['push']>): void => {
      for (const event of events) {
        const frame = storedFrame(event);
        noteEvent(detection, event, frame?.protocol === 'dlms' ? readDlmsRecord(frame.raw) : null);
      }
    };
    for await (const chunk of source.read(controller.signal)) {
      note(detector.push(chunk));
      if (done()) break;
    }
    if (!done() && !controller.signal.aborted) note(detector.end());
  } catch (error) {
    if (!isP1Error(error)) throw error;
    process.stderr.write(`p1logger detect: ${error.message}\n`);
    status = error.code === 'P1_FILE_NOT_FOUND' || error.code === 'P1_SOURCE_SPEC' ? 2 : 1;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (status !== 0) return status;
  process.stdout.write(detectionReport(detection, configuredSource(options.source, source.stats.settings), source.stats.settings));
  return detection.protocol === null ? 1 : 0;
}

/** The source to configure: for a serial port that auto-detected, the spec with the settings that worked. */
function configuredSource(spec: string, settings: string | undefined): string {
  const parsed = parseSourceSpec(spec);
  const found = settings === undefined ? null : /^(\d+) ([78])([NEO])([12])/.exec(settings);
  if (parsed.kind !== 'serial' || parsed.settings !== 'auto' || found === null) return spec;
  const parity = { N: 'none', E: 'even', O: 'odd' }[found[3] as 'N' | 'E' | 'O'];
  return `serial:${parsed.path}?baud=${found[1]}&bits=${found[2]}&parity=${parity}&stop=${found[4]}`;
}
