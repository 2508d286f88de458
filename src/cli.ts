#!/usr/bin/env node
import { Command } from 'commander';
import { registerParse } from './commands/parse.js';
import { registerRead } from './commands/read.js';
import { registerSimulate } from './commands/simulate.js';
import { registerPorts } from './commands/ports.js';

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
registerRead(program);
registerSimulate(program);
registerPorts(program);

await program.parseAsync(process.argv);
