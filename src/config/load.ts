import { existsSync } from 'node:fs';
import { isP1Error, P1Error, SubjectError, type P1ErrorCode } from '../errors.js';
import { checkSinkSecrets } from '../sinks/secrets.js';
import { parseSinkSpec, withoutUserInfo, type SinkSpec } from '../sinks/spec.js';
import { CONFIG_PATH_ENV, envLayer } from './env.js';
import { readConfigFile, type FileLayer } from './file.js';
import { flagsLayer, type ConfigFlags } from './flags.js';
import { ConfigError, toConfigIssues, type ConfigIssue } from './issues.js';
import { isPlainObject, mergeLayers, type ConfigLayer } from './layer.js';
import { exposureWarning } from './listen.js';
import { resolveSecret, type SecretContext } from './resolve-secret.js';
import { configSchema, SECRET_ALLOWED, secretRef, type ParsedConfig, type ParsedSink } from './schema.js';
import { assertMeterKey } from './meter-keys.js';
import { Secret } from './secret.js';

export const DEFAULT_CONFIG_PATH = '/etc/p1logger/config.yaml';

/** A sink as the uploaders get it: secrets resolved (and still masked when printed or logged). */
export type SinkConfig = Omit<ParsedSink, 'token' | 'password' | 'ca'> & { token?: Secret; password?: Secret; ca?: Secret };
/** The effective configuration of a running p1logger. */
export type Config = Omit<ParsedConfig, 'sinks' | 'decryptionKey' | 'authenticationKey'> & {
  sinks: SinkConfig[];
  decryptionKey?: Secret;
  authenticationKey?: Secret;
};

export interface LoadConfigOptions {
  /** Flags of the command line, `--config` included. */
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Read when it exists and nothing else names a file; tests point it elsewhere. */
  defaultConfigPath?: string;
  /**
   * False for `config check --skip-secrets`: validate the references without reading them. 'meter-keys': read only
   * the meter's keys (for `import`, which sends nothing anywhere).
   */
  resolveSecrets?: boolean | 'meter-keys';
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

  const where = (path: readonly PropertyKey[]): string => locate(layers, path);
  const result = configSchema.safeParse(merged, { reportInput: true });
  // Every problem in one pass: the secrets are checked even when other keys are wrong.
  const issues: ConfigIssue[] = result.success ? [] : toConfigIssues(result.error.issues, where);
  const sinks: SinkConfig[] = [];
  const allSecrets = options.resolveSecrets === undefined || options.resolveSecrets === true;
  if (allSecrets) {
    const rawSinks = result.success ? result.data.sinks : Array.isArray(merged.sinks) ? (merged.sinks as unknown[]) : [];
    for (const [i, raw] of rawSinks.entries()) {
      const sink = await resolveSinkConfig(raw, i, { env, cwd, configFile: inlineFrom(layers, file, ['sinks', i]) }, where, issues);
      if (result.success) {
        const { token: _token, password: _password, ca: _ca, ...rest } = result.data.sinks[i]!;
        sinks.push({ ...rest, ...sink, ...credentialsOutOfUrl(rest.url, rest.username, sink.password) });
      }
    }
  }
  const meterKeys: Pick<Config, 'decryptionKey' | 'authenticationKey'> = {};
  if (options.resolveSecrets !== false && result.success) {
    for (const key of ['decryptionKey', 'authenticationKey'] as const) {
      const ref = result.data[key];
      if (ref === undefined) continue;
      try {
        const secret = await resolveSecret(ref, key, { env, cwd, configFile: inlineFrom(layers, file, [key]) });
        assertMeterKey(key, secret);
        meterKeys[key] = secret;
      } catch (error) {
        if (error instanceof SubjectError) issues.push(secretIssue(where([key]), key, error.problem, error.code));
        else if (isP1Error(error)) issues.push(secretIssue(where([key]), key, error.message, error.code));
        else throw error;
      }
    }
  }
  if (!result.success || issues.length > 0) throw new ConfigError(issues);
  const parsed = result.data;

  const exposed = [
    parsed.http.enabled ? exposureWarning('http.listen', parsed.http.listen, 'your meter readings and status') : null,
    parsed.relay.listen === undefined ? null : exposureWarning('relay.listen', parsed.relay.listen, "your meter's telegrams"),
  ];
  for (const warning of exposed) if (warning !== null) warnings.push(warning);
  const { decryptionKey: _decryptionKey, authenticationKey: _authenticationKey, ...settings } = parsed;
  const config: Config = {
    ...settings,
    ...meterKeys,
    sinks: allSecrets ? sinks : parsed.sinks.map(({ token: _t, password: _p, ca: _c, ...rest }) => ({ ...rest, url: withoutUserInfo(rest.url) })),
  };
  return { config, parsed, file: file?.path ?? null, warnings };
}

/**
 * The secrets of one sink as `run` will need them: its own references ({ env }, { file }, inline) resolved, then the
 * environment's defaults for its kind (INFLUX_PASSWORD_FILE, COSM_API_KEY, ...) checked. Problems go to `issues`.
 */
async function resolveSinkConfig(
  raw: unknown,
  index: number,
  ctx: SecretContext,
  where: (path: readonly PropertyKey[]) => string,
  issues: ConfigIssue[],
): Promise<Pick<SinkConfig, 'token' | 'password' | 'ca'>> {
  if (!isPlainObject(raw)) return {};
  const out: Pick<SinkConfig, 'token' | 'password' | 'ca'> = {};
  let complete = true;
  for (const key of ['token', 'password', 'ca'] as const) {
    const ref = secretRef.safeParse(raw[key]);
    if (raw[key] === undefined || !ref.success) continue;
    try {
      out[key] = await resolveSecret(ref.data, `sinks[${index}].${key}`, ctx);
    } catch (error) {
      if (!(error instanceof SubjectError)) throw error;
      complete = false;
      issues.push(secretIssue(where(['sinks', index, key]), `sinks[${index}].${key}`, error.problem, error.code));
    }
  }
  let spec: SinkSpec;
  try {
    spec = parseSinkSpec(typeof raw.url === 'string' ? raw.url : '');
  } catch {
    return out; // the schema reports it
  }
  if (!complete) return out;
  const username = typeof raw.username === 'string' ? raw.username : undefined;
  const { problems } = await checkSinkSecrets(spec, { token: out.token, username, password: out.password, ca: out.ca }, { env: ctx.env, cwd: ctx.cwd });
  for (const p of problems) {
    issues.push(secretIssue(p.variable ?? where(['sinks', index]), `sinks[${index}].${p.field}`, p.problem, p.code));
  }
  return out;
}

/**
 * A password in the URL (`http://user:pass@host`) becomes the sink's password, a Secret like any other, and the URL
 * keeps no user info: the configuration can then be logged or printed whole. The sink's own settings win.
 */
function credentialsOutOfUrl(url: string, username: string | undefined, password: Secret | undefined): Pick<SinkConfig, 'url' | 'username' | 'password'> {
  const spec = parseSinkSpec(url);
  const out: Pick<SinkConfig, 'url' | 'username' | 'password'> = { url: withoutUserInfo(url) };
  const user = username ?? (spec.kind === 'influxdb-v1' ? spec.username : undefined);
  const pass = password ?? (spec.kind === 'influxdb-v1' && spec.password !== undefined ? new Secret(spec.password, 'the URL') : undefined);
  if (user !== undefined) out.username = user;
  if (pass !== undefined) out.password = pass;
  return out;
}

function secretIssue(where: string, key: string, problem: string, code: P1ErrorCode): ConfigIssue {
  return { where, key, value: null, problem, allowed: SECRET_ALLOWED, ...(code === 'P1_CONFIG_INVALID' ? {} : { code }) };
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
