import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { isP1Error } from '../errors.js';
import { Queue } from '../queue/queue.js';
import { sinkFromConfig } from '../sinks/create.js';
import { isSinkError } from '../sinks/sink.js';
import { withQueue, type DataDirFlags } from './status.js';

export interface DeadLetterFlags extends DataDirFlags {
  sink?: string;
  resend?: boolean;
}

export function registerDeadLetters(program: Command): void {
  program
    .command('dead-letters')
    .description('list the records sinks refused (400/413/422) with the reasons, and send them again once the cause is fixed')
    .option('--config <file>', 'configuration file to take dataDir and the sinks from (default: /etc/p1logger/config.yaml when it exists)')
    .option('--data-dir <dir>', 'data directory (default: dataDir of the configuration, else ./data)')
    .option('--sink <name>', 'only this sink (default: all)')
    .option('--resend', 'send each again to its configured sink; removed once accepted, kept (with the new reason) if refused', false)
    .addHelpText(
      'after',
      '\nPrints JSON: a list of { sink, seq, reason, parkedAt, receivedAt }; with --resend, per sink { sink, resent,\n' +
        'refused: [{ seq, reason }] }. The service must be stopped (the queue is its while it runs: exit 1 naming the\n' +
        'lock). Exit status: 0 ok (with --resend: every letter accepted), 1 locked, unreadable or some still refused,\n' +
        '2 usage (no queue there, an unknown sink).',
    )
    .action(async (flags: DeadLetterFlags) => {
      process.exitCode = await deadLettersCommand(flags);
    });
}

export async function deadLettersCommand(flags: DeadLetterFlags): Promise<number> {
  if (flags.resend === true) return resend(flags);
  return withQueue('dead-letters', flags, async (queue) => {
    const names = await sinkNames(queue, flags.sink);
    const out = [];
    for (const sink of names) {
      for (const letter of await queue.deadLetters(sink)) {
        out.push({ sink, seq: letter.seq, reason: letter.reason, parkedAt: letter.parkedAt, receivedAt: letter.record.receivedAt });
      }
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  });
}

async function sinkNames(queue: Queue, only: string | undefined): Promise<string[]> {
  const names = (await queue.status()).sinks.filter((s) => s.deadLetters > 0).map((s) => s.sink);
  return only === undefined ? names : names.filter((name) => name === only);
}

/** Sends each dead letter of the configured sinks again, one record per request so one refusal keeps only itself. */
async function resend(flags: DeadLetterFlags): Promise<number> {
  let config: Config;
  let queue: Queue | undefined;
  try {
    config = (
      await loadConfig({
        flags: { ...(flags.config === undefined ? {} : { config: flags.config }), ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }) },
      })
    ).config;
    const sinks = config.sinks.filter((s) => flags.sink === undefined || s.name === flags.sink);
    if (flags.sink !== undefined && sinks.length === 0) {
      process.stderr.write(`p1logger dead-letters: no sink named "${flags.sink}" in the configuration\n`);
      return 2;
    }
    queue = await Queue.open(config.dataDir, { retentionIntervalMs: 0, reserveBytes: 0, minFreeBytes: 0 });
    const report = [];
    let refusedTotal = 0;
    for (const sinkConfig of sinks) {
      const sink = await sinkFromConfig(sinkConfig, { timeZone: config.timeZone });
      const refused: Array<{ seq: number; reason: string }> = [];
      let resent = 0;
      try {
        for (const letter of await queue.deadLetters(sinkConfig.name)) {
          try {
            await sink.send([letter.record]);
            await queue.unpark(sinkConfig.name, letter.seq);
            resent++;
          } catch (error) {
            if (!isSinkError(error)) throw error;
            refused.push({ seq: letter.seq, reason: error.message });
            if (error.code === 'P1_SINK_REJECTED') await queue.park(sinkConfig.name, letter.record, error.message);
          }
        }
      } finally {
        await sink.close();
      }
      refusedTotal += refused.length;
      report.push({ sink: sinkConfig.name, resent, refused });
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return refusedTotal === 0 ? 0 : 1;
  } catch (error) {
    const hint = isP1Error(error, 'P1_QUEUE_LOCKED') ? ' (stop the service first: systemctl stop p1logger)' : '';
    process.stderr.write(`p1logger dead-letters: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
    return isP1Error(error, 'P1_CONFIG_INVALID') || isP1Error(error, 'P1_SINK_SPEC') ? 2 : 1;
  } finally {
    await queue?.close();
  }
}
