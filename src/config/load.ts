import { existsSync } from 'node:fs';
import { P1Error } from '../errors.js';
import { CONFIG_PATH_ENV, envLayer } from './env.js';
import { readConfigFile, type FileLayer } from './file.js';
import { flagsLayer, type ConfigFlags } from './flags.js';
import { ConfigError, toConfigIssues } from './issues.js';
import { mergeLayers, type ConfigLayer } from './layer.js';
import { isLoopback, parseListen } from './listen.js';
import { resolveSecret } from './resolve-secret.js';
import { configSchema, type ParsedConfig, type ParsedSink } from './schema.js';
import type { Secret } from './secret.js';

export const DEFAULT_CONFIG_PATH = '/etc/p1logger/config.yaml';

/** A sink as the uploaders get it: secrets resolved (and still masked when printed or logged). */
export type SinkConfig = Omit<ParsedSink, 'token' | 'password' | 'ca'> & { token?: Secret; password?: Secret; ca?: Secret };
/** The effective configuration of a running p1logger. */
export type Config = Omit<ParsedConfig, 'sinks'> & { sinks: SinkConfig[] };

export interface LoadConfigOptions {
  /** Flags of the command line, `--config` included. */
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Read when it exists and nothing else names a file; tests point it elsewhere. */
  defaultConfigPath?: string;
  /** False for `config check --skip-secrets`: validate the references without reading them. */
  resolveSecrets?: boolean;
}

export interface LoadedConfig {
  config: Config;
  /** The configuration with secrets still as references ({ env }, { file }, inline), for printing. */
  parsed: ParsedConfig;
  /** The file that was read, or null for the embedded default. */
  file: string | null;
  /** Things to log at start-up: ignored variables, an HTTP address open to the network. */
  warnings: string[];
}

/**
 * Built-in defaults < config file < P1LOGGER_* environment < flags. Throws ConfigError (P1_CONFIG_INVALID) naming
 * every bad key with its value and what is allowed, P1_FILE_NOT_FOUND for a named file that is missing, and
 * P1_SECRET_FILE_MODE for a secret others could read.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const flags = options.flags ?? {};
  const defaultPath = options.defaultConfigPath ?? DEFAULT_CONFIG_PATH;

  const named = flags.config ?? nonEmpty(env[CONFIG_PATH_ENV]);
  const path = named ?? (existsSync(defaultPath) ? defaultPath : undefined);
  const file: FileLayer | null = path === undefined ? null : await readConfigFile(path);

  const { layer: fromEnv, warnings } = envLayer(env);
  const fromFlags = flagsLayer(flags);
  const layers: ConfigLayer[] = file === null ? [fromEnv, fromFlags] : [file, fromEnv, fromFlags];
  const merged = mergeLayers(layers);

  const result = configSchema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(toConfigIssues(result.error.issues, (p) => locate(layers, p)));
  }
  const parsed = result.data;

  const listen = parseListen(parsed.http.listen);
  if (parsed.http.enabled && listen !== null && !isLoopback(listen.host)) {
    warnings.push(
      `http.listen ${parsed.http.listen} is reachable from other machines: anyone on that network can read your meter ` +
        'readings and status (no authentication); keep 127.0.0.1 unless that is what you want',
    );
  }

  const sinks: SinkConfig[] = [];
  for (const [i, sink] of parsed.sinks.entries()) {
    const { token, password, ca, ...rest } = sink;
    const out: SinkConfig = { ...rest };
    if (options.resolveSecrets !== false) {
      const ctx = { env, cwd, configFile: inlineFrom(layers, file, ['sinks', i]) };
      if (token !== undefined) out.token = await resolveSecret(token, `sinks[${i}].token`, ctx);
      if (password !== undefined) out.password = await resolveSecret(password, `sinks[${i}].password`, ctx);
      if (ca !== undefined) out.ca = await resolveSecret(ca, `sinks[${i}].ca`, ctx);
    }
    sinks.push(out);
  }
  return { config: { ...parsed, sinks }, parsed, file: file?.path ?? null, warnings };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Flags beat env beats file; what no layer set is a built-in default. */
function locate(layers: readonly ConfigLayer[], path: readonly PropertyKey[]): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    const where = layers[i]!.locate(path);
    if (where !== undefined) return where;
  }
  return 'default';
}

/** The file an inline secret at `path` was written in, if it came from the file (env and flags are not files). */
function inlineFrom(layers: readonly ConfigLayer[], file: FileLayer | null, path: readonly PropertyKey[]): { path: string; mode: number } | null {
  if (file === null) return null;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (layer.locate(path) !== undefined) return layer === file ? { path: file.path, mode: file.mode } : null;
  }
  return null;
}

/** For `p1logger run`: a configuration error is a usage error, reported before anything touches the meter. */
export function isConfigProblem(error: unknown): error is P1Error {
  return error instanceof P1Error && ['P1_CONFIG_INVALID', 'P1_FILE_NOT_FOUND', 'P1_SECRET_FILE_MODE'].includes(error.code);
}
