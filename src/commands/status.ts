import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config.js';
import { isP1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';

export interface DataDirFlags {
  config?: string;
  dataDir?: string;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the state of the queue in a data directory as JSON (the service must not be running on it)')
    .option('--config <file>', 'configuration file to take dataDir from (default: /etc/p1logger/config.yaml when it exists)')
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .addHelpText(
      'after',
      '\nOutput: { dataDir, firstSeq, lastSeq, firstReceivedAt, lastReceivedAt, records, bytesOnDisk, reserveBytes,\n' +
        '  durability, state, sinks: [{ sink, cursor, lag, lagSeconds, dropped, deadLetters }] }.\n' +
        'While `p1logger run` holds the data directory this exits 1 naming its lock: stop the service, or ask it\n' +
        'over its HTTP API. Exit status: 0 ok, 1 locked or unreadable, 2 usage (no queue in that directory).',
    )
    .action(async (flags: DataDirFlags) => {
      process.exitCode = await statusCommand(flags);
    });
}

export async function statusCommand(flags: DataDirFlags): Promise<number> {
  return withQueue('status', flags, async (queue) => {
    process.stdout.write(`${JSON.stringify({ dataDir: queue.dataDir, ...(await queue.status()) }, null, 2)}\n`);
    return 0;
  });
}

/**
 * Opens the queue of the data directory read-only for a command and reports what stops it: a running service
 * (P1_QUEUE_LOCKED) is exit 1, a directory without a queue or a bad configuration exit 2.
 */
export async function withQueue(command: string, flags: DataDirFlags, use: (queue: Queue) => Promise<number>): Promise<number> {
  let queue: Queue | undefined;
  try {
    queue = await Queue.open(await dataDirOf(flags), { readOnly: true });
    return await use(queue);
  } catch (error) {
    process.stderr.write(`p1logger ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    const usage = ['P1_USAGE', 'P1_FILE_NOT_FOUND', 'P1_CONFIG_INVALID', 'P1_SECRET_FILE_MODE'].some((code) => isP1Error(error, code as never));
    return usage ? 2 : 1;
  } finally {
    await queue?.close();
  }
}

async function dataDirOf(flags: DataDirFlags): Promise<string> {
  const configFlags: ConfigFlags = {};
  if (flags.config !== undefined) configFlags.config = flags.config;
  if (flags.dataDir !== undefined) configFlags.dataDir = flags.dataDir;
  const { config } = await loadConfig({ flags: configFlags, resolveSecrets: false });
  return config.dataDir;
}
