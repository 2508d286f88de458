import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import { isP1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';

export interface DataDirFlags {
  config?: string;
  dataDir?: string;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('print the state of the queue in a data directory as JSON (asks the running service when it holds the directory)')
    .option('--config <file>', 'configuration file to take dataDir from (default: /etc/p1logger/config.yaml when it exists)')
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .addHelpText(
      'after',
      '\nOutput: { dataDir, firstSeq, lastSeq, firstReceivedAt, lastReceivedAt, records, bytesOnDisk, reserveBytes,\n' +
        '  durability, state, sinks: [{ sink, cursor, lag, lagSeconds, dropped, deadLetters }] }.\n' +
        'While `p1logger run` holds the data directory, the service is asked over its loopback status API\n' +
        '(http.listen of the configuration) and its /api/status JSON is printed with `via`: the URL asked.\n' +
        'Exit status: 0 ok, 1 locked with no status API answering, or unreadable; 2 usage (no queue in that directory).',
    )
    .action(async (flags: DataDirFlags) => {
      process.exitCode = await statusCommand(flags);
    });
}

export async function statusCommand(flags: DataDirFlags): Promise<number> {
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
  // The running service holds the database: ask it instead, over its loopback status API.
  const config = await configOf(flags);
  const url = config.http.enabled ? statusUrl(config.http.listen) : null;
  const report = url === null ? null : await fetchStatus(url);
  if (report === null) {
    const asked = url === null ? 'its status API is not on loopback or is off' : `its status API (${url}) did not answer`;
    process.stderr.write(`p1logger status: ${held.lock}; ${asked}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ dataDir: config.dataDir, via: url, ...report }, null, 2)}\n`);
  return 0;
}

/** Only a loopback listener is asked: status never sends anything off this machine. */
export function statusUrl(listen: string, path = '/api/status'): string | null {
  const match = /^(.*):(\d+)$/.exec(listen);
  if (match === null) return null;
  const host = match[1]!;
  const loopback = host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
  const wildcard = host === '0.0.0.0' || host === '[::]' || host === '';
  if (!loopback && !wildcard) return null;
  return `http://${wildcard ? '127.0.0.1' : host}:${match[2]!}${path}`;
}

async function fetchStatus(url: string): Promise<Record<string, unknown> | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return response.ok ? ((await response.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
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
    process.stderr.write(`p1logger ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    const usage = ['P1_USAGE', 'P1_FILE_NOT_FOUND', 'P1_CONFIG_INVALID', 'P1_SECRET_FILE_MODE'].some((code) => isP1Error(error, code as never));
    return usage ? 2 : 1;
  } finally {
    await queue?.close();
  }
}

async function configOf(flags: DataDirFlags): Promise<Config> {
  const configFlags: ConfigFlags = {};
  if (flags.config !== undefined) configFlags.config = flags.config;
  if (flags.dataDir !== undefined) configFlags.dataDir = flags.dataDir;
  return (await loadConfig({ flags: configFlags, resolveSecrets: false })).config;
}
