import type { Command } from 'commander';
import { isP1Error } from '../errors.js';
import { errorLine } from './error-line.js';
import { loadConfig } from '../config/load.js';
import { effectiveConfigYaml } from '../config/print.js';
import { CONFIG_LOOKUP, type ConfigFlags } from '../config/flags.js';

interface CheckOptions extends Omit<ConfigFlags, 'config'> {
  skipSecrets?: boolean;
}

/** `p1logger config check [FILE]`: validates like `run` does, prints the effective configuration, secrets masked. */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('configuration file tools');
  config
    .command('check')
    .description(
      'validate a configuration file (plus P1LOGGER_* variables and flags) as `run` would, and print the effective ' +
        'configuration with secrets masked; exit 0 when valid, 2 when not',
    )
    .argument('[file]', `configuration file (default: ${CONFIG_LOOKUP})`)
    .option('--source <spec>', 'override source')
    .option('--data-dir <dir>', 'override dataDir')
    .option('--sink <[name=]spec>', 'override sinks, repeatable', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--listen <host:port>', 'override http.listen')
    .option('--log-level <level>', 'override log.level')
    .option('--skip-secrets', 'check secret references without reading them (env variables the service gets elsewhere)', false)
    .action(async (file: string | undefined, options: CheckOptions) => {
      const { skipSecrets, ...overrides } = options;
      const flags: ConfigFlags = file === undefined ? overrides : { ...overrides, config: file };
      try {
        const loaded = await loadConfig({ flags, resolveSecrets: skipSecrets !== true });
        for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
        process.stdout.write(`# effective configuration (${loaded.file ?? 'embedded default, no file'}); secrets shown as ***\n`);
        process.stdout.write(effectiveConfigYaml(loaded.parsed));
      } catch (error) {
        if (!isP1Error(error)) throw error;
        process.stderr.write(`p1logger config check: ${errorLine(error)}\n`);
        process.exitCode = 2;
      }
    });
}
