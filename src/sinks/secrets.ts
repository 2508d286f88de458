import { secretFromEnv } from '../config/resolve-secret.js';
import type { Secret } from '../config/secret.js';
import { P1Error } from '../errors.js';
import type { SinkSpec } from './spec.js';

/** Credentials a sink is constructed with. They go into request headers and nowhere else (no log, no message). */
export interface SinkSecrets {
  token?: string;
  username?: string;
  password?: string;
}

/** What the configuration file gave for a sink (config/load.ts resolved its references already). */
export interface ConfiguredSecrets {
  token?: Secret | undefined;
  username?: string | undefined;
  password?: Secret | undefined;
}

/** The environment variables a sink's credentials default to; `NAME_FILE` names a file holding the value. */
export const SECRET_ENV = {
  influxToken: 'INFLUX_TOKEN',
  influxUsername: 'INFLUX_USERNAME',
  influxPassword: 'INFLUX_PASSWORD',
  cosmApiKey: 'COSM_API_KEY',
} as const;

interface Context {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * A sink's credentials: the configuration's first, else the environment's (INFLUX_TOKEN; INFLUX_USERNAME and
 * INFLUX_PASSWORD; COSM_API_KEY; each also as NAME_FILE). A Cosm feed without an API key is a configuration error.
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
      const token = configured.token?.reveal() ?? (await secretFromEnv(SECRET_ENV.influxToken, ctx));
      if (token !== undefined) out.token = token;
      break;
    }
    case 'influxdb-v1': {
      const username = configured.username ?? spec.username ?? ctx.env[SECRET_ENV.influxUsername];
      if (username !== undefined && username !== '') {
        out.username = username;
        const password = configured.password?.reveal() ?? spec.password ?? (await secretFromEnv(SECRET_ENV.influxPassword, ctx));
        if (password !== undefined) out.password = password;
      }
      break;
    }
    case 'cosm': {
      const key = configured.token?.reveal() ?? (await secretFromEnv(SECRET_ENV.cosmApiKey, ctx));
      if (key === undefined) {
        throw new P1Error(
          'P1_CONFIG_INVALID',
          `cosm sink ${spec.url}/v2/feeds/${spec.feed} needs an API key: set ${SECRET_ENV.cosmApiKey} (or ${SECRET_ENV.cosmApiKey}_FILE naming a file only its owner can read), or the sink's token in the config file`,
        );
      }
      out.token = key;
      break;
    }
  }
  return out;
}
