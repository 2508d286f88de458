import { mqttSettingsSchema, type MqttSettings } from '../config/schema.js';
import type { RetryPolicy } from '../delivery/retry-policy.js';
import type { Logger } from '../log.js';
import type { ParseOptions } from '../telegram/types.js';
import { CosmSink } from './cosm.js';
import { InfluxV2Sink } from './influxdb.js';
import { InfluxV1Sink } from './influxdb-v1.js';
import { resolveSinkSecrets, type ConfiguredSecrets, type SinkSecrets } from './secrets.js';
import { MqttSink } from './mqtt/sink.js';
import { defaultPublishPolicy, type PublishPolicy, type Sink } from './sink.js';
import { parseSinkSpec, type SinkSpec } from './spec.js';

export interface CreateSinkOptions {
  secrets?: SinkSecrets;
  /** Per HTTP request. Default 30 s. */
  timeoutMs?: number;
  /** Time zone of DSMR 2.2/3 meter clocks, as configured. */
  parse?: ParseOptions;
  /** Default per kind (defaultPublishPolicy): MQTT retains its state messages under `latest`. */
  publish?: PublishPolicy;
  /** An mqtt sink's `mqtt:` settings; absent, the defaults. */
  mqtt?: MqttSettings;
  logger?: Logger;
  /** MQTT: told the config topics announced to Home Assistant, each time they grow. */
  onAnnounced?: (configTopics: string[]) => Promise<void>;
  /** MQTT: waited for before the first connection. */
  before?: Promise<void>;
  /** MQTT: the backoff of reconnects while nothing is sent (the uploader's policy). */
  retry?: RetryPolicy;
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
    case 'mqtt': {
      const settings = options.mqtt ?? mqttSettingsSchema.parse({});
      return new MqttSink({
        spec,
        ...common,
        ...(secrets.username === undefined ? {} : { username: secrets.username }),
        ...(secrets.password === undefined ? {} : { password: secrets.password }),
        ...(secrets.ca === undefined ? {} : { ca: secrets.ca }),
        retainState: (options.publish ?? defaultPublishPolicy('mqtt')) === 'latest',
        ...(settings.topic === undefined ? {} : { topic: settings.topic }),
        ...(settings.clientId === undefined ? {} : { clientId: settings.clientId }),
        protocol: settings.protocol,
        keepaliveSeconds: settings.keepaliveSeconds,
        discovery: { enabled: settings.discovery, prefix: settings.discoveryPrefix },
        ...(options.logger === undefined ? {} : { logger: options.logger }),
        ...(options.onAnnounced === undefined ? {} : { onAnnounced: options.onAnnounced }),
        ...(options.before === undefined ? {} : { before: options.before }),
        ...(options.retry === undefined ? {} : { reconnect: options.retry }),
      });
    }
  }
}

/**
 * A sink of the configuration (`sinks[]`: url, and token/username/password as config/load.ts resolved them) with
 * the environment's credentials as defaults. Throws P1_SINK_SPEC, P1_SECRET_FILE_MODE, P1_CONFIG_INVALID.
 */
export async function sinkFromConfig(
  sink: { url: string; publish?: PublishPolicy | undefined; mqtt?: MqttSettings | undefined } & ConfiguredSecrets,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeZone?: string } & Omit<CreateSinkOptions, 'secrets' | 'parse' | 'publish' | 'mqtt'> = {},
): Promise<Sink> {
  const spec = parseSinkSpec(sink.url);
  const secrets = await resolveSinkSecrets(spec, { token: sink.token, username: sink.username, password: sink.password, ca: sink.ca }, {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const { env: _env, cwd: _cwd, timeZone, ...rest } = options;
  return createSink(spec, {
    ...rest,
    secrets,
    ...(timeZone === undefined ? {} : { parse: { timeZone } }),
    ...(sink.publish === undefined ? {} : { publish: sink.publish }),
    ...(sink.mqtt === undefined ? {} : { mqtt: sink.mqtt }),
  });
}
