import type { ParseOptions } from '../telegram/types.js';
import { CosmSink } from './cosm.js';
import { InfluxV2Sink } from './influxdb.js';
import { InfluxV1Sink } from './influxdb-v1.js';
import { resolveSinkSecrets, type ConfiguredSecrets, type SinkSecrets } from './secrets.js';
import type { Sink } from './sink.js';
import { parseSinkSpec, type SinkSpec } from './spec.js';

export interface CreateSinkOptions {
  secrets?: SinkSecrets;
  /** Per HTTP request. Default 30 s. */
  timeoutMs?: number;
  /** Time zone of DSMR 2.2/3 meter clocks, as configured. */
  parse?: ParseOptions;
}

/** The sink a spec names (parseSinkSpec), with its credentials (resolveSinkSecrets). */
export function createSink(spec: SinkSpec, options: CreateSinkOptions = {}): Sink {
  const secrets = options.secrets ?? {};
  const common = {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.parse === undefined ? {} : { parse: options.parse }),
  };
  switch (spec.kind) {
    case 'influxdb':
      return new InfluxV2Sink({ spec, ...common, ...(secrets.token === undefined ? {} : { token: secrets.token }) });
    case 'influxdb-v1':
      return new InfluxV1Sink({
        spec,
        ...common,
        ...(secrets.username === undefined ? {} : { username: secrets.username }),
        ...(secrets.password === undefined ? {} : { password: secrets.password }),
      });
    case 'cosm':
      return new CosmSink({ spec, ...common, apiKey: secrets.token ?? '' });
  }
}

/**
 * A sink of the configuration (`sinks[]`: url, and token/username/password as config/load.ts resolved them) with
 * the environment's credentials as defaults. Throws P1_SINK_SPEC, P1_SECRET_FILE_MODE, P1_CONFIG_INVALID.
 */
export async function sinkFromConfig(
  sink: { url: string } & ConfiguredSecrets,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeZone?: string; timeoutMs?: number } = {},
): Promise<Sink> {
  const spec = parseSinkSpec(sink.url);
  const secrets = await resolveSinkSecrets(spec, { token: sink.token, username: sink.username, password: sink.password }, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return createSink(spec, {
    secrets,
    ...(options.timeZone === undefined ? {} : { parse: { timeZone: options.timeZone } }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
