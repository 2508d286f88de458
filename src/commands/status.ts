import { CONFIG_LOOKUP } from '../config/flags.js';
import type { Command } from 'commander';
import { errorLine } from './error-line.js';
import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import { isP1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';
import { findService } from '../client/service-api.js';

export interface DataDirFlags {
  config?: string;
  dataDir?: string;
}

interface StatusFlags extends DataDirFlags {
  listen?: string;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the state of the queue in a data directory as JSON (asks the running service when it holds the directory)')
    .option('--config <file>', `configuration file to take dataDir from (default: ${CONFIG_LOOKUP})`)
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--listen <host:port>', 'ask the service at this status API address (default: the address it wrote to <dataDir>/api.json)')
    .addHelpText(
      'after',
      '\nOutput: { dataDir, firstSeq, lastSeq, firstReceivedAt, lastReceivedAt, records, bytesOnDisk, reserveBytes,\n' +
        '  reserveTargetBytes, minFreeBytes, diskFull, durability, state,\n' +
        '  unreadable, corruption, corruptCopies,\n' +
        '  sinks: [{ sink, cursor, lag, lagSeconds, dropped, droppedByReason: { age, size, freeSpace, diskFull }, deadLetters,\n' +
        '  deadLetterReasons: { reason: count } }] }. `p1logger dead-letters` lists them and sends them again.\n' +
        'While `p1logger run` holds the data directory, that service is asked over its status API, at the address it\n' +
        'wrote to <dataDir>/api.json (or --listen), and its /api/status JSON is printed with `via`: the URL asked. A\n' +
        'service that reports another data directory is not taken for this one.\n' +
        'Exit status: 0 ok, 1 locked with no status API of that directory answering, or unreadable; 2 usage (no queue\n' +
        'in that directory).',
    )
    .action(async (flags: StatusFlags) => {
      process.exitCode = await statusCommand(flags);
    });
}

export async function statusCommand(flags: StatusFlags): Promise<number> {
  const held: { lock: string | null } = { lock: null };
  const code = await withQueue(
    'status',
    flags,
    async (queue) => {
      process.stdout.write(`${JSON.stringify({ dataDir: queue.dataDir, ...(await queue.status()) }, null, 2)}\n`);
      return 0;
    },
    (error) => {
      if (!isP1Error(error, 'P1_QUEUE_LOCKED')) return true;
      held.lock = error.message;
      return false;
    },
  );
  if (held.lock === null) return code;
  // The running service holds the database: ask it instead, over its status API.
  const config = await configOf(flags);
  const found = await findService(config.dataDir, flags.listen === undefined ? {} : { listen: flags.listen });
  if (!found.ok) {
    process.stderr.write(`p1logger status: P1_QUEUE_LOCKED: ${held.lock}; ${found.reason}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ via: `${found.api.url}/api/status`, ...found.status }, null, 2)}\n`);
  return 0;
}

/**
 * Opens the queue of the data directory read-only for a command and reports what stops it: a running service
 * (P1_QUEUE_LOCKED) is exit 1, a directory without a queue or a bad configuration exit 2.
 */
export async function withQueue(
  command: string,
  flags: DataDirFlags,
  use: (queue: Queue) => Promise<number>,
  /** False: the caller handles this error itself (nothing is printed; exit 1 is returned). */
  report: (error: unknown) => boolean = () => true,
): Promise<number> {
  let queue: Queue | undefined;
  try {
    queue = await Queue.open((await configOf(flags)).dataDir, { readOnly: true });
    return await use(queue);
  } catch (error) {
    if (!report(error)) return 1;
    process.stderr.write(`p1logger ${command}: ${errorLine(error)}\n`);
    const usage = ['P1_USAGE', 'P1_FILE_NOT_FOUND', 'P1_CONFIG_INVALID', 'P1_SECRET_FILE_MODE'].some((code) => isP1Error(error, code as never));
    return usage ? 2 : 1;
  } finally {
    await queue?.close();
  }
}

/** The configuration a data-directory command works with (dataDir, timeZone); secrets are not read, meter keys on request. */
export async function configOf(flags: DataDirFlags, resolveSecrets: false | 'meter-keys' = false): Promise<Config> {
  const configFlags: ConfigFlags = {};
  if (flags.config !== undefined) configFlags.config = flags.config;
  if (flags.dataDir !== undefined) configFlags.dataDir = flags.dataDir;
  return (await loadConfig({ flags: configFlags, resolveSecrets })).config;
}
