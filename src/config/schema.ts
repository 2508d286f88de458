import { z } from 'zod';
import { SubjectError } from '../errors.js';
import { parseSinkSpec } from '../sinks/spec.js';
import { parseSourceSpec } from '../sources/spec.js';
import { historySchema, tariffsSchema, uiSchema } from './history-schema.js';
import { parseListen } from './listen.js';

/**
 * The one configuration schema: file, environment and flags are all validated here, the README's reference table
 * is generated from it (scripts/config-reference.ts), and the environment variable names are derived from it.
 * Every leaf carries `allowed` (what an error message offers the user) and `description` (the reference table).
 */
// A type alias, not an interface: zod's meta() wants an index signature.
export type FieldMeta = {
  description: string;
  allowed: string;
  /** The command-line flag that overrides this key. */
  flag?: string;
  /** The value is a secret: masked in output, never shown in an error. */
  secret?: boolean;
};

function meta(m: FieldMeta): FieldMeta {
  return m;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An MQTT topic to publish under: no wildcards, no empty level at either end. */
const MQTT_TOPIC = /^(?!\/)[^#+]*[^#+/]$/;
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function isMqttUrl(url: string): boolean {
  return /^mqtts?:\/\//.test(url);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * A check by the parser the running service uses (so `config check` refuses exactly what `run` would), its problem
 * reported on the key without repeating the value.
 */
function parsedBy(parse: (text: string) => unknown): (text: string, ctx: z.core.$RefinementCtx<string>) => void {
  return (text, ctx) => {
    try {
      parse(text);
    } catch (error) {
      if (!(error instanceof SubjectError)) throw error;
      ctx.addIssue({ code: 'custom', input: text, message: error.problem });
    }
  };
}

export const SECRET_ALLOWED = '{ env: VARIABLE } or { file: PATH } (a file only its owner can read); an inline string only in a config file others cannot read';

/** A secret is a reference, so config files and examples never have to hold the value itself. */
export const secretRef = z.union(
  [z.string().min(1), z.strictObject({ env: z.string().regex(ENV_NAME) }), z.strictObject({ file: z.string().min(1) })],
  { error: `expected ${SECRET_ALLOWED}` },
);
export type SecretRef = z.output<typeof secretRef>;

/** An mqtt sink's own settings (`sinks[].mqtt`); absent, every default applies. */
export const mqttSettingsSchema = z.strictObject({
  topic: z.string().regex(MQTT_TOPIC).optional().meta(meta({
    description: 'Topic prefix of the state and status messages. Default: `p1logger/<meter id>`.',
    allowed: 'an MQTT topic without wildcards (+, #) and without a leading or trailing /',
  })),
  clientId: z.string().min(1).max(256).optional().meta(meta({
    description: 'MQTT client id. Default: `p1logger-<meter id>`.',
    allowed: '1-256 characters',
  })),
  protocol: z
    .preprocess((value) => (typeof value === 'number' ? String(value) : value), z.enum(['3.1.1', '5']))
    .default('3.1.1')
    .meta(meta({
      description: 'MQTT protocol version.',
      allowed: '3.1.1 or 5',
    })),
  keepaliveSeconds: z.int().min(0).max(65_535).default(60).meta(meta({
    description: 'Keep-alive interval (0: none); an MQTT 5 broker may set its own.',
    allowed: 'an integer number of seconds from 0 to 65535',
  })),
  discovery: z.boolean().default(true).meta(meta({
    description: 'Home Assistant MQTT discovery: a sensor per quantity the meter sends. Turning it off (or removing the sink) removes the sensors on the next start.',
    allowed: 'true or false',
  })),
  discoveryPrefix: z.string().regex(MQTT_TOPIC).default('homeassistant').meta(meta({
    description: 'Home Assistant\'s discovery prefix (its MQTT integration\'s setting).',
    allowed: 'an MQTT topic without wildcards',
  })),
});
export type MqttSettings = z.output<typeof mqttSettingsSchema>;

const sinkSchema = z.strictObject({
  name: z
    .string()
    .regex(SINK_NAME)
    .meta(meta({
      description: 'Unique name of the sink; its queue cursor is stored under this name, so renaming it re-sends everything.',
      allowed: '1-64 characters: letters, digits, ".", "_", "-"',
    })),
  url: z
    .string()
    .superRefine(parsedBy(parseSinkSpec))
    .meta(meta({
      description: 'Where to send: the sink spec (see "Sinks").',
      allowed: 'influxdb:URL?org=O&bucket=B | influxdb-v1:URL?db=D[&rp=R] | cosm:URL/v2/feeds/FEED | mqtt://HOST[:PORT] | mqtts://HOST[:PORT]',
    })),
  token: secretRef.optional().meta(meta({
    description: 'InfluxDB v2 API token, or the Cosm API key (`X-ApiKey`). Default: `INFLUX_TOKEN` / `COSM_API_KEY` from the environment.',
    allowed: SECRET_ALLOWED,
    secret: true,
  })),
  username: z.string().min(1).optional().meta(meta({
    description: 'InfluxDB 1.x or MQTT user name. Default: `INFLUX_USERNAME` / `MQTT_USERNAME` from the environment.',
    allowed: 'a non-empty string',
  })),
  password: secretRef.optional().meta(meta({
    description: 'InfluxDB 1.x or MQTT password. Default: `INFLUX_PASSWORD` / `MQTT_PASSWORD` from the environment.',
    allowed: SECRET_ALLOWED,
    secret: true,
  })),
  ca: secretRef.optional().meta(meta({
    description: 'MQTT over TLS (`mqtts://`): the CA certificate (PEM) that signed the broker\'s certificate, for a self-signed broker. Default: `MQTT_CA` from the environment; the system\'s CAs otherwise.',
    allowed: SECRET_ALLOWED,
    secret: true,
  })),
  publish: z.enum(['all', 'latest']).optional().meta(meta({
    description: 'What the sink is sent after an outage: `all` stored telegrams, in order; or only the `latest`, skipping the backlog (the skipped are counted on the status page and /metrics; MQTT state then retained). Default: `latest` for mqtt sinks, `all` for the others.',
    allowed: 'all or latest',
  })),
  mqtt: mqttSettingsSchema.optional(),
  batchSize: z.int().min(1).max(100_000).default(500).meta(meta({
    description: 'Telegrams per request (capped at the API limit of the sink).',
    allowed: 'an integer from 1 to 100000',
  })),
  maxRetryDelaySeconds: z.number().min(1).max(86_400).default(300).meta(meta({
    description: 'Cap of the exponential backoff between retries of a failing request.',
    allowed: 'a number of seconds from 1 to 86400',
  })),
});

export const configSchema = z.strictObject({
  source: z
    .string()
    .superRefine(parsedBy(parseSourceSpec))
    .default('simulate')
    .meta(meta({
      description: 'Where telegrams come from (see "Sources"). The default is the built-in simulated meter.',
      allowed: 'serial:/dev/PATH[?dsmr=auto|2.2|3|4|4.2|5&baud=N...] | tcp:HOST:PORT | file:PATH[?rate=fast|realtime] | simulate[?dsmr=5|2.2&interval=S&seed=N]',
      flag: '--source',
    })),
  dataDir: z.string().min(1).default('./data').meta(meta({
    description: 'Directory of the LevelDB queue (relative paths are relative to the working directory). One process per directory.',
    allowed: 'a directory path',
    flag: '--data-dir',
  })),
  timeZone: z
    .string()
    .refine(isTimeZone, { error: 'not a time zone of the tz database' })
    .default('Europe/Amsterdam')
    .meta(meta({
      description: 'Time zone of DSMR 2.2/3 meter clocks (they send no offset), and of "today" and "this month" on the status page.',
      allowed: 'a tz database zone, e.g. Europe/Amsterdam or Europe/Brussels',
    })),
  decryptionKey: secretRef.optional().meta(meta({
    description: 'Encryption key of a meter that encrypts what it sends (Luxembourg\'s Smarty, Austrian and other encrypted HAN ports): the 32 hex digits the grid operator gives. Also from `P1LOGGER_DECRYPTION_KEY` or a file named by `P1LOGGER_DECRYPTION_KEY_FILE`.',
    allowed: `${SECRET_ALLOWED}; the value is 32 hex digits`,
    secret: true,
  })),
  authenticationKey: secretRef.optional().meta(meta({
    description: 'Authentication key, where the grid operator gives one (32 hex digits). Default: the key every Smarty uses, 00112233445566778899AABBCCDDEEFF. Also `P1LOGGER_AUTHENTICATION_KEY` / `P1LOGGER_AUTHENTICATION_KEY_FILE`.',
    allowed: `${SECRET_ALLOWED}; the value is 32 hex digits`,
    secret: true,
  })),
  http: z
    .strictObject({
      listen: z
        .string()
        .refine((v) => parseListen(v) !== null, { error: 'not a HOST:PORT address' })
        .default('127.0.0.1:8080')
        .meta(meta({
          description: 'Address of the status page, /api/status, /metrics and /healthz. Anything but loopback exposes your meter readings to the network.',
          allowed: 'HOST:PORT or [IPv6]:PORT, port 0-65535, e.g. 127.0.0.1:8080',
          flag: '--listen',
        })),
      enabled: z.boolean().default(true).meta(meta({
        description: 'Serve HTTP at all.',
        allowed: 'true or false',
      })),
    })
    .prefault({}),
  relay: z
    .strictObject({
      listen: z
        .string()
        .refine((v) => parseListen(v) !== null, { error: 'not a HOST:PORT address' })
        .optional()
        .meta(meta({
          description: 'Serve every stored telegram, byte for byte, to TCP clients (Home Assistant DSMR "network", DSMR-reader, another p1logger) like ser2net. Off when not set. Anything but loopback exposes your meter readings to the network.',
          allowed: 'HOST:PORT or [IPv6]:PORT, port 0-65535, e.g. 127.0.0.1:2323',
        })),
      maxClients: z.int().min(1).max(100).default(5).meta(meta({
        description: 'Relay clients served at once; more are refused (closed at once).',
        allowed: 'an integer from 1 to 100',
      })),
    })
    .prefault({}),
  queue: z
    .strictObject({
      durability: z.enum(['sync', 'grouped']).default('sync').meta(meta({
        description: '`sync`: every telegram is fsynced before it counts as stored. `grouped`: writes are synced together every `syncIntervalMs` (less SD card wear; a power cut can lose that interval).',
        allowed: 'sync or grouped',
      })),
      syncIntervalMs: z.int().min(10).max(60_000).default(10_000).meta(meta({
        description: 'Sync interval of `grouped` durability. At 1 telegram/s an interval of 10 s writes 1.6x the raw telegram bytes to the card, against 5.5x for `sync` (npm run bench).',
        allowed: 'an integer number of milliseconds from 10 to 60000',
      })),
      retention: z
        .strictObject({
          maxAgeDays: z.number().positive().max(36_500).default(30).meta(meta({
            description: 'Telegrams older than this are removed, sent or not (unsent ones count as dropped).',
            allowed: 'a number of days greater than 0',
          })),
          maxBytes: z.int().min(1_048_576).default(1_073_741_824).meta(meta({
            description: 'Size cap of the queue on disk; the oldest telegrams go first.',
            allowed: 'an integer number of bytes, at least 1048576 (1 MiB)',
          })),
        })
        .prefault({}),
    })
    .prefault({}),
  sinks: z
    .array(sinkSchema)
    .default([])
    .superRefine((sinks, ctx) => {
      const seen = new Set<string>();
      sinks.forEach((sink, i) => {
        if (seen.has(sink.name)) {
          ctx.addIssue({ code: 'custom', path: [i, 'name'], input: sink.name, message: 'duplicate sink name', params: { allowed: 'a name no other sink has' } });
        }
        seen.add(sink.name);
        if (!isMqttUrl(sink.url)) {
          for (const key of ['mqtt', 'ca'] as const) {
            if (sink[key] === undefined) continue;
            ctx.addIssue({ code: 'custom', path: [i, key], input: key, message: `${key} is only for mqtt sinks`, params: { allowed: 'leave it out, or use an mqtt:// or mqtts:// url' } });
          }
        }
      });
    })
    .meta(meta({
      description: 'Where telegrams are forwarded; each sink has its own cursor, so one that is down never holds back another.',
      allowed: 'a list of sinks (mappings with name, url, ...); --sink [NAME=]SPEC, repeatable, replaces the list',
      flag: '--sink',
    })),
  history: historySchema,
  tariffs: tariffsSchema,
  ui: uiSchema,
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info').meta(meta({
        description: 'Log level (JSON lines on stdout, for journald).',
        allowed: LOG_LEVELS.join(', '),
        flag: '--log-level',
      })),
    })
    .prefault({}),
});

/** The configuration as validated, with secrets still as references. */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedSink = ParsedConfig['sinks'][number];
