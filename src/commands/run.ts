import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { errorLine } from './error-line.js';
import { addConfigOptions, isConfigProblem, loadConfig, type Config, type ConfigFlags } from '../config.js';
import { REPORT_STORED_ENV } from '../config/env.js';
import { addAppliance, type Appliance } from '../service/appliance.js';
import { isP1Error, type P1ErrorCode } from '../errors.js';
import { waitForSinks } from '../service/catch-up.js';
import { startSystemdNotify } from '../service/sd-notify.js';
import { createLogger, type Logger } from '../log.js';
import type { QueueRecord } from '../queue/types.js';
import { dlmsKeys } from '../config/meter-keys.js';
import { createService, type RunSettings, type Service } from '../service/service.js';

/** SIGTERM to exit: systemd's default stop timeout is 90 s, but the promise to users is 5 s. */
const STOP_DEADLINE_MS = 4500;
/** Found while wiring (a bad sink spec, an unreadable secret): configuration problems, exit 2 like the rest. */
const CONFIGURATION_ERRORS: P1ErrorCode[] = ['P1_SOURCE_SPEC', 'P1_USAGE', 'P1_SINK_SPEC', 'P1_CONFIG_INVALID', 'P1_SECRET_FILE_MODE'];

export function registerRun(program: Command): void {
  addConfigOptions(
    program
      .command('run')
      .description('run the logger: read the meter, store every telegram durably in the data directory (LevelDB), forward it'),
  )
    .addHelpText(
      'after',
      '\nWith no configuration at all it reads the built-in simulated meter into ./data.\n' +
        'Only one process may use a data directory. SIGTERM/SIGINT: stop reading, finish the write in flight,\n' +
        'close the database, exit 0 (within 5 s).\n' +
        'A file source: at its end, run waits until every sink has sent what was stored (progress in the log), then\n' +
        'exits; SIGTERM still stops at once, the rest waiting in the queue.\n' +
        'Exit status: 0 after a stop or at the end of a file source; 1 when the data directory cannot be used\n' +
        '(locked by another process, not writable) or the source fails; 2 for configuration errors.\n' +
        'P1LOGGER_REPORT_STORED=1 prints "stored <seq> <sha256 of the raw telegram>" on stderr per stored telegram.',
    )
    .action(async (flags: ConfigFlags) => {
      process.exitCode = await runCommand(flags);
    });
}

/** The queue part of the configuration, in the queue's units. */
export function runSettingsFromConfig(config: Config): RunSettings {
  const keys = dlmsKeys(config.decryptionKey, config.authenticationKey);
  return {
    ...(keys === undefined ? {} : { keys }),
    source: config.source,
    dataDir: config.dataDir,
    queue: {
      durability: config.queue.durability,
      groupIntervalMs: config.queue.syncIntervalMs,
      maxAgeMs: config.queue.retention.maxAgeDays * 24 * 3600 * 1000,
      maxBytes: config.queue.retention.maxBytes,
    },
  };
}

export async function runCommand(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: Config;
  let warnings: string[];
  try {
    ({ config, warnings } = await loadConfig({ flags, env }));
  } catch (error) {
    if (!isConfigProblem(error)) throw error;
    process.stderr.write(`p1logger run: ${errorLine(error)}\n`);
    return 2;
  }
  const logger = createLogger({ level: config.log.level });
  for (const warning of warnings) logger.warn(warning);
  return runService(runSettingsFromConfig(config), logger, {
    config,
    env,
    ...(env[REPORT_STORED_ENV] === '1' ? { onStored: reportStored } : {}),
  });
}

export interface RunServiceOptions {
  /** Called per durably stored telegram (the crash tests' report). */
  onStored?: (record: QueueRecord) => void;
  /** With a configuration: its sinks' uploaders and the status server run beside acquisition. */
  config?: Config;
  env?: NodeJS.ProcessEnv;
}

/** Runs until a signal or the end of the source; returns the exit status. */
export async function runService(settings: RunSettings, logger: Logger, options: RunServiceOptions = {}): Promise<number> {
  let service: Service | undefined;
  let appliance: Appliance | undefined;
  let stopRequested = false;
  const stopped = new AbortController();
  const systemd = startSystemdNotify({ logger, ...(options.env ? { env: options.env } : {}) });
  const onStored = (record: QueueRecord): void => {
    options.onStored?.(record);
    appliance?.stored(record);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) return;
    stopRequested = true;
    stopped.abort();
    logger.info({ signal }, 'stopping');
    void systemd.stopping();
    // LevelDB survives being cut off; a service that does not stop when asked is the worse failure.
    setTimeout(() => {
      logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'did not stop in time; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    void service?.stop();
  };
  // Before opening anything: a signal while the database opens must still end in a clean close.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let phase = 'cannot start';
  try {
    service = await createService(settings, { logger, onStored });
    if (options.config) appliance = await addAppliance(service, options.config, logger, options.env);
    if (stopRequested) return 0;
    await service.start();
    phase = 'acquisition failed';
    await systemd.ready(`reading ${service.source.description}`);
    await service.finished;
    // A finite source ended (a capture file): exit once its telegrams are delivered, not merely stored.
    if (!stopRequested && appliance !== undefined && appliance.uploaders.length > 0) {
      const lastSeq = (await service.queue.status()).lastSeq;
      if (lastSeq !== null) await waitForSinks(appliance.uploaders, lastSeq, { signal: stopped.signal, logger });
    }
    return 0;
  } catch (error) {
    // One line with the code; the stack only for --log-level debug (it helps a developer, not the user).
    const code = isP1Error(error) ? error.code : 'P1_INTERNAL';
    logger.fatal({ code, ...(logger.isLevelEnabled('debug') ? { err: error } : {}) }, `${phase}: ${errorLine(error)}`);
    process.stderr.write(`p1logger run: ${errorLine(error)}\n`);
    return phase === 'cannot start' && CONFIGURATION_ERRORS.some((c) => isP1Error(error, c)) ? 2 : 1;
  } finally {
    await service?.stop();
    await systemd.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** Synchronous on pipes and files (Linux): the line is out before the next telegram, even if we are killed next. */
function reportStored(record: QueueRecord): void {
  const digest = createHash('sha256').update(record.raw, 'latin1').digest('hex');
  process.stderr.write(`stored ${record.seq} ${digest}\n`);
}
