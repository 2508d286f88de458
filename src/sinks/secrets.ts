import { resolveSecret } from '../config/resolve-secret.js';
import type { Secret } from '../config/secret.js';
import { P1Error } from '../errors.js';
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

/**
 * The value of `NAME` from the environment, else from the file `NAME_FILE` names (systemd's LoadCredential= and
 * Docker secrets work that way). A file readable by group or others is refused with P1_SECRET_FILE_MODE.
 */
async function fromEnv(name: string, ctx: Context): Promise<string | undefined> {
  const value = ctx.env[name];
  if (value !== undefined && value !== '') return value;
  const file = ctx.env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  const secret = await resolveSecret({ file }, `${name}_FILE`, { env: ctx.env, cwd: ctx.cwd, configFile: null });
  return secret.reveal();
}

/**
 * A sink's credentials: the configuration's first, else the environment's (INFLUX_TOKEN; INFLUX_USERNAME and
 * INFLUX_PASSWORD; COSM_API_KEY; MQTT_USERNAME, MQTT_PASSWORD and MQTT_CA; each also as NAME_FILE). A Cosm feed
 * without an API key is a configuration error.
 */
export async function resolveSinkSecrets(
  spec: SinkSpec,
  configured: ConfiguredSecrets = {},
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<SinkSecrets> {
  const ctx: Context = { env: options.env ?? process.env, cwd: options.cwd ?? process.cwd() };
  const out: SinkSecrets = {};
  switch (spec.kind) {
    case 'influxdb': {
      const token = configured.token?.reveal() ?? (await fromEnv(SECRET_ENV.influxToken, ctx));
      if (token !== undefined) out.token = token;
      break;
    }
    case 'influxdb-v1': {
      const username = configured.username ?? spec.username ?? ctx.env[SECRET_ENV.influxUsername];
      if (username !== undefined && username !== '') {
        out.username = username;
        const password = configured.password?.reveal() ?? spec.password ?? (await fromEnv(SECRET_ENV.influxPassword, ctx));
        if (password !== undefined) out.password = password;
      }
      break;
    }
    case 'cosm': {
      const key = configured.token?.reveal() ?? (await fromEnv(SECRET_ENV.cosmApiKey, ctx));
      if (key === undefined) {
        throw new P1Error(
          'P1_CONFIG_INVALID',
          `cosm sink ${spec.url}/v2/feeds/${spec.feed} needs an API key: set ${SECRET_ENV.cosmApiKey} (or ${SECRET_ENV.cosmApiKey}_FILE naming a file only its owner can read), or the sink's token in the config file`,
        );
      }
      out.token = key;
      break;
    }
    case 'mqtt': {
      const username = configured.username ?? ctx.env[SECRET_ENV.mqttUsername];
      if (username !== undefined && username !== '') out.username = username;
      const password = configured.password?.reveal() ?? (await fromEnv(SECRET_ENV.mqttPassword, ctx));
      if (password !== undefined) out.password = password;
      const ca = configured.ca?.reveal() ?? (await fromEnv(SECRET_ENV.mqttCa, ctx));
      if (ca !== undefined) out.ca = ca;
      break;
    }
  }
  return out;
}
