#!/usr/bin/env node
import { Command } from 'commander';
import { registerParse } from './commands/parse.js';
import { registerConfig } from './commands/config.js';
import { registerRead } from './commands/read.js';
import { registerSimulate } from './commands/simulate.js';
import { registerPorts } from './commands/ports.js';
import { registerRun } from './commands/run.js';
import { registerExport } from './commands/export.js';
import { registerStatus } from './commands/status.js';
import { registerBackfill } from './commands/backfill.js';
import { registerImport } from './commands/import.js';

const program = new Command();
program
  .name('p1logger')
  .description('Reads DSMR/P1 smart meter telegrams, stores them durably, forwards them to InfluxDB and Cosm-style feeds.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // commander's own usage errors exit 2, like ours.
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerParse(program);
registerConfig(program);
registerRead(program);
registerSimulate(program);
registerPorts(program);
registerRun(program);
registerExport(program);
registerStatus(program);
registerBackfill(program);
registerImport(program);

await program.parseAsync(process.argv);
