import { z } from 'zod';
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
const SOURCE_SPEC = /^(?:serial:\/\S+|tcp:\S+:\d{1,5}|file:\S+|simulate(?:\?\S*)?)$/;
const SINK_SPEC = /^(?:influxdb|influxdb-v1|cosm):https?:\/\/\S+$/;
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const SECRET_ALLOWED = '{ env: VARIABLE } or { file: PATH } (a file only its owner can read); an inline string only in a config file others cannot read';

/** A secret is a reference, so config files and examples never have to hold the value itself. */
const secretRef = z.union(
  [z.string().min(1), z.strictObject({ env: z.string().regex(ENV_NAME) }), z.strictObject({ file: z.string().min(1) })],
  { error: `expected ${SECRET_ALLOWED}` },
);
export type SecretRef = z.output<typeof secretRef>;

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
    .regex(SINK_SPEC)
    .meta(meta({
      description: 'Where to send: the sink spec (see "Sinks").',
      allowed: 'influxdb:URL?org=O&bucket=B | influxdb-v1:URL?db=D[&rp=R] | cosm:URL/v2/feeds/FEED',
    })),
  token: secretRef.optional().meta(meta({
    description: 'InfluxDB v2 API token, or the Cosm API key (`X-ApiKey`). Default: `INFLUX_TOKEN` / `COSM_API_KEY` from the environment.',
    allowed: SECRET_ALLOWED,
    secret: true,
  })),
  username: z.string().min(1).optional().meta(meta({
    description: 'InfluxDB 1.x user name. Default: `INFLUX_USERNAME` from the environment.',
    allowed: 'a non-empty string',
  })),
  password: secretRef.optional().meta(meta({
    description: 'InfluxDB 1.x password. Default: `INFLUX_PASSWORD` from the environment.',
    allowed: SECRET_ALLOWED,
    secret: true,
  })),
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
    .regex(SOURCE_SPEC)
    .default('simulate')
    .meta(meta({
      description: 'Where telegrams come from (see "Sources"). The default is the built-in simulated meter.',
      allowed: 'serial:/dev/PATH[?dsmr=auto|2.2|3|4|5] | tcp:HOST:PORT | file:PATH[?rate=fast|realtime] | simulate[?dsmr=5|2.2&interval=S]',
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
