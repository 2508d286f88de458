#!/usr/bin/env node
import { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Each command's module is loaded only when that command runs: `p1logger read` on a Pi need not carry the HTTP
 * clients, LevelDB and the config schema in memory. `--help` and unknown commands load them all.
 */
const commands: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./commands/run.js')).registerRun,
  read: async () => (await import('./commands/read.js')).registerRead,
  parse: async () => (await import('./commands/parse.js')).registerParse,
  simulate: async () => (await import('./commands/simulate.js')).registerSimulate,
  ports: async () => (await import('./commands/ports.js')).registerPorts,
  status: async () => (await import('./commands/status.js')).registerStatus,
  export: async () => (await import('./commands/export.js')).registerExport,
  import: async () => (await import('./commands/import.js')).registerImport,
  history: async () => (await import('./commands/history.js')).registerHistory,
  backfill: async () => (await import('./commands/backfill.js')).registerBackfill,
  config: async () => (await import('./commands/config.js')).registerConfig,
};

const program = new Command();
program
  .name('p1logger')
  .description('Reads DSMR/P1 smart meter telegrams, stores them durably, forwards them to InfluxDB and Cosm-style feeds.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors exit 2, like ours.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

const requested = process.argv[2];
const names = requested !== undefined && Object.hasOwn(commands, requested) ? [requested] : Object.keys(commands);
for (const name of names) (await commands[name]!())(program);

await program.parseAsync(process.argv);
