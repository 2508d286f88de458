import { secretFromEnv } from '../config/resolve-secret.js';
import type { Secret } from '../config/secret.js';
import { SubjectError, type P1ErrorCode } from '../errors.js';
import type { SinkSpec } from './spec.js';

/** Credentials a sink is constructed with. They go into request headers and nowhere else (no log, no message). */
export interface SinkSecrets {
  token?: string;
  username?: string;
  password?: string;
  /** PEM of a CA to trust (MQTT over TLS to a self-signed broker). */
  ca?: string;
}

/** What the configuration file gave for a sink (config/load.ts resolved its references already). */
export interface ConfiguredSecrets {
  token?: Secret | undefined;
  username?: string | undefined;
  password?: Secret | undefined;
  ca?: Secret | undefined;
}

/** The environment variables a sink's credentials default to; `NAME_FILE` names a file holding the value. */
export const SECRET_ENV = {
  influxToken: 'INFLUX_TOKEN',
  influxUsername: 'INFLUX_USERNAME',
  influxPassword: 'INFLUX_PASSWORD',
  cosmApiKey: 'COSM_API_KEY',
  mqttUsername: 'MQTT_USERNAME',
  mqttPassword: 'MQTT_PASSWORD',
  mqttCa: 'MQTT_CA',
} as const;

interface Context {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A credential of a sink that cannot be had: which variable, for which field, and what is wrong. */
export interface SecretProblem {
  code: P1ErrorCode;
  /** The variable to fix (`INFLUX_PASSWORD_FILE`, `COSM_API_KEY`); undefined when it is the sink's own setting. */
  variable: string | undefined;
  field: 'token' | 'username' | 'password' | 'ca';
  problem: string;
}

/**
 * The value of `NAME` from the environment, else from the file `NAME_FILE` names; a file that cannot be read (missing,
 * open to group or others) is a problem of that variable, not an exception.
 */
async function fromEnv(name: string, field: SecretProblem['field'], ctx: Context, problems: SecretProblem[]): Promise<string | undefined> {
  try {
    return await secretFromEnv(name, ctx);
  } catch (error) {
    if (!(error instanceof SubjectError)) throw error;
    problems.push({ code: error.code, variable: `${name}_FILE`, field, problem: error.problem });
    return undefined;
  }
}

/** The variable (NAME or NAME_FILE) that is set, for messages. */
function setVariable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const variable of [name, `${name}_FILE`]) if (env[variable] !== undefined && env[variable] !== '') return variable;
  return undefined;
}

/**
 * A sink's credentials: the configuration's first, else the environment's (INFLUX_TOKEN; INFLUX_USERNAME and
 * INFLUX_PASSWORD; COSM_API_KEY; MQTT_USERNAME, MQTT_PASSWORD and MQTT_CA; each also as NAME_FILE), with every
 * problem found (a missing or open secret file, a password without a user name, a Cosm feed without a key) rather
 * than the first.
 */
export async function checkSinkSecrets(
  spec: SinkSpec,
  configured: ConfiguredSecrets = {},
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ secrets: SinkSecrets; problems: SecretProblem[] }> {
  const ctx: Context = { env: options.env ?? process.env, cwd: options.cwd ?? process.cwd() };
  const out: SinkSecrets = {};
  const problems: SecretProblem[] = [];
  switch (spec.kind) {
    case 'influxdb': {
      const token = configured.token?.reveal() ?? (await fromEnv(SECRET_ENV.influxToken, 'token', ctx, problems));
      if (token !== undefined) out.token = token;
      break;
    }
    case 'influxdb-v1': {
      const username = configured.username ?? spec.username ?? ctx.env[SECRET_ENV.influxUsername];
      const password = configured.password?.reveal() ?? spec.password ?? (await fromEnv(SECRET_ENV.influxPassword, 'password', ctx, problems));
      if (username !== undefined && username !== '') {
        out.username = username;
        if (password !== undefined) out.password = password;
      } else if (password !== undefined || setVariable(SECRET_ENV.influxPassword, ctx.env) !== undefined) {
        // Basic auth needs both: a password alone would be dropped and the server answer 401 for ever.
        const variable = configured.password !== undefined || spec.password !== undefined ? undefined : setVariable(SECRET_ENV.influxPassword, ctx.env);
        const given = variable ?? (spec.password !== undefined ? 'in the URL' : 'as the sink\'s password');
        problems.push({
          code: 'P1_CONFIG_INVALID',
          variable,
          field: 'username',
          problem: `a password is given (${given}) but no user name: ${SECRET_ENV.influxUsername} is not set (nor the sink's username); set it, or remove the password`,
        });
      }
      break;
    }
    case 'cosm': {
      const key = configured.token?.reveal() ?? (await fromEnv(SECRET_ENV.cosmApiKey, 'token', ctx, problems));
      if (key !== undefined) out.token = key;
      else if (!problems.some((p) => p.field === 'token')) {
        problems.push({
          code: 'P1_CONFIG_INVALID',
          variable: undefined,
          field: 'token',
          problem: `cosm sink ${spec.url}/v2/feeds/${spec.feed} needs an API key: set ${SECRET_ENV.cosmApiKey} (or ${SECRET_ENV.cosmApiKey}_FILE naming a file only its owner can read), or the sink's token in the config file`,
        });
      }
      break;
    }
    case 'mqtt': {
      const username = configured.username ?? ctx.env[SECRET_ENV.mqttUsername];
      if (username !== undefined && username !== '') out.username = username;
      const password = configured.password?.reveal() ?? (await fromEnv(SECRET_ENV.mqttPassword, 'password', ctx, problems));
      if (password !== undefined) out.password = password;
      const ca = configured.ca?.reveal() ?? (await fromEnv(SECRET_ENV.mqttCa, 'ca', ctx, problems));
      if (ca !== undefined) out.ca = ca;
      break;
    }
  }
  return { secrets: out, problems };
}

/** checkSinkSecrets for one-off use: the first problem is thrown (P1_CONFIG_INVALID, P1_FILE_NOT_FOUND, P1_SECRET_FILE_MODE). */
export async function resolveSinkSecrets(
  spec: SinkSpec,
  configured: ConfiguredSecrets = {},
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<SinkSecrets> {
  const { secrets, problems } = await checkSinkSecrets(spec, configured, options);
  const first = problems[0];
  if (first !== undefined) throw new SubjectError(first.code, first.variable ?? first.field, first.problem);
  return secrets;
}
