#!/usr/bin/env node
import { readFileSync } from 'node:fs';
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
  detect: async () => (await import('./commands/detect.js')).registerDetect,
  simulate: async () => (await import('./commands/simulate.js')).registerSimulate,
  ports: async () => (await import('./commands/ports.js')).registerPorts,
  status: async () => (await import('./commands/status.js')).registerStatus,
  export: async () => (await import('./commands/export.js')).registerExport,
  import: async () => (await import('./commands/import.js')).registerImport,
  history: async () => (await import('./commands/history.js')).registerHistory,
  backfill: async () => (await import('./commands/backfill.js')).registerBackfill,
  config: async () => (await import('./commands/config.js')).registerConfig,
  repair: async () => (await import('./commands/repair.js')).registerRepair,
  'dead-letters': async () => (await import('./commands/dead-letters.js')).registerDeadLetters,
};

// package.json sits one level above both src/ (tsx) and dist/ (the built CLI).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('p1logger')
  .version(version, '-V, --version', 'print the version of p1logger and exit')
  .description('Reads smart meters (DSMR/P1, encrypted DSMR, DLMS on HAN ports), stores every telegram durably, forwards them to InfluxDB and Cosm-style feeds.')
  .showHelpAfterError()
  // commander's own usage errors ("error: unknown option '--x'") carry our code like every other error.
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'p1logger: P1_USAGE: ')) })
  .exitOverride((error) => {
    // commander's own usage errors exit 2, like ours.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

const requested = process.argv[2];
const names = requested !== undefined && Object.hasOwn(commands, requested) ? [requested] : Object.keys(commands);
for (const name of names) (await commands[name]!())(program);

await program.parseAsync(process.argv);
