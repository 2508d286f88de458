import type { Command } from 'commander';
import { pathLayer, type ConfigLayer } from './layer.js';

/** The flags that override the main settings (`p1logger run --source ... --sink ... --listen ...`). */
export interface ConfigFlags {
  config?: string;
  source?: string;
  dataDir?: string;
  /** `[NAME=]SPEC`, repeatable; replaces the configured list of sinks. */
  sink?: string[];
  listen?: string;
  logLevel?: string;
}

/** Where the configuration comes from without --config, in the order it is looked for (as the README says). */
export const CONFIG_LOOKUP = '$P1LOGGER_CONFIG, else /etc/p1logger/config.yaml when it exists, else the embedded default';

/** Adds the configuration flags to a command, so every command that runs the pipeline spells them the same. */
export function addConfigOptions(command: Command): Command {
  return command
    .option('--config <file>', `configuration file (YAML); default: ${CONFIG_LOOKUP}`)
    .option('--source <spec>', 'meter source: serial:/dev/p1, tcp:HOST:PORT, file:PATH, simulate (default: simulate)')
    .option('--data-dir <dir>', 'queue directory (default: ./data)')
    .option('--sink <[name=]spec>', 'sink to forward to, repeatable; replaces the configured sinks (default: none)', collect, undefined)
    .option('--listen <host:port>', 'HTTP status page address (default: 127.0.0.1:8080)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: info)');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `influx=influxdb:http://...` -> name influx; a bare spec is named after its scheme (`influxdb`, `cosm-2`). */
export function sinksFromFlags(specs: readonly string[]): Array<{ name: string; url: string }> {
  const used = new Set<string>();
  return specs.map((spec) => {
    const named = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})=(.+)$/.exec(spec);
    let name = named?.[1] ?? (/^([A-Za-z0-9-]+):/.exec(spec)?.[1] ?? 'sink');
    const url = named?.[2] ?? spec;
    if (named === null && used.has(name)) {
      let n = 2;
      while (used.has(`${name}-${n}`)) n++;
      name = `${name}-${n}`;
    }
    used.add(name);
    return { name, url };
  });
}

export function flagsLayer(flags: ConfigFlags): ConfigLayer {
  const entries: Array<{ path: string[]; value: unknown; origin: string }> = [];
  if (flags.source !== undefined) entries.push({ path: ['source'], value: flags.source, origin: '--source' });
  if (flags.dataDir !== undefined) entries.push({ path: ['dataDir'], value: flags.dataDir, origin: '--data-dir' });
  if (flags.listen !== undefined) entries.push({ path: ['http', 'listen'], value: flags.listen, origin: '--listen' });
  if (flags.logLevel !== undefined) entries.push({ path: ['log', 'level'], value: flags.logLevel, origin: '--log-level' });
  if (flags.sink !== undefined && flags.sink.length > 0) entries.push({ path: ['sinks'], value: sinksFromFlags(flags.sink), origin: '--sink' });
  return pathLayer(entries);
}
