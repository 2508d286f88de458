import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { isP1Error } from '../errors.js';
import { createLogger } from '../log.js';
import { Queue, queueDir } from '../queue/queue.js';
import { configOf, type DataDirFlags } from './status.js';

const BATCH = 1000;

export function registerRepair(program: Command): void {
  program
    .command('repair')
    .description('check a stopped service\'s queue, repair it with LevelDB\'s repair, or move it aside when that fails')
    .option('--config <file>', 'configuration file to take dataDir from (default: /etc/p1logger/config.yaml when it exists)')
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .addHelpText(
      'after',
      '\nWhat `p1logger run` does by itself at start: a queue LevelDB cannot open is repaired (LevelDB keeps every\n' +
        'record it can read); if it still does not open, it is renamed <dataDir>/queue.corrupt-<time> and a new one\n' +
        'begun. Then every stored record is read back and checked. Prints JSON: { dataDir, action (none, repaired,\n' +
        'movedAside), reason, movedTo, records, unreadable, corruptCopies }. The service must be stopped.\n' +
        'Exit status: 0 the queue is usable (also after a repair or a move), 1 locked or failed, 2 no queue there.',
    )
    .action(async (flags: DataDirFlags) => {
      process.exitCode = await repairCommand(flags);
    });
}

export async function repairCommand(flags: DataDirFlags): Promise<number> {
  let queue: Queue | undefined;
  try {
    const { dataDir } = await configOf(flags);
    if (!(await isDirectory(queueDir(dataDir)))) {
      process.stderr.write(`p1logger repair: no queue in data directory ${dataDir} (${queueDir(dataDir)} does not exist): is --data-dir right?\n`);
      return 2;
    }
    queue = await Queue.open(dataDir, { retentionIntervalMs: 0, reserveBytes: 0, logger: createLogger({ level: 'warn', destination: process.stderr }) });
    // Reading everything back counts what a damaged table lost (the queue logs each run of unreadable records).
    for (let after = 0, last = (await queue.status()).lastSeq ?? 0; after < last; ) {
      const batch = await queue.readAfter(after, BATCH);
      after = batch.length === 0 ? after + BATCH : batch[batch.length - 1]!.seq;
    }
    const status = await queue.status();
    const report = {
      dataDir,
      action: status.corruption?.action ?? 'none',
      reason: status.corruption?.reason ?? null,
      movedTo: status.corruption?.movedTo ?? null,
      records: status.records,
      unreadable: status.unreadable,
      corruptCopies: status.corruptCopies,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (error) {
    const hint = isP1Error(error, 'P1_QUEUE_LOCKED') ? ' (stop the service first: systemctl stop p1logger)' : '';
    process.stderr.write(`p1logger repair: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
    return isP1Error(error, 'P1_CONFIG_INVALID') ? 2 : 1;
  } finally {
    await queue?.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
