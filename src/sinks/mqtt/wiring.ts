import type { Config, SinkConfig } from '../../config/load.js';
import { isMqttUrl } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { resolveSinkSecrets } from '../secrets.js';
import { parseSinkSpec } from '../spec.js';
import { AnnouncedSensors, type Announcement } from './announced.js';
import { removeStaleSensors } from './removal.js';

export interface MqttDiscoveryWiring {
  /** What an mqtt sink is created with: remember what it announces, and connect only after the removal. */
  sinkOptions(sink: SinkConfig): { onAnnounced?: (configTopics: string[]) => Promise<void>; before?: Promise<void> };
  /** A service component that removes the sensors of sinks no longer announcing; undefined when there are none. */
  removal?: { name: string; start(): void; stop(): void };
}

function announces(sink: SinkConfig): boolean {
  return isMqttUrl(sink.url) && (sink.mqtt?.discovery ?? true);
}

/**
 * Home Assistant discovery across runs for `p1logger run`: each mqtt sink writes what it announced into the data
 * directory; on start, what sinks that are gone (or have discovery off) announced is removed, before any mqtt
 * sink connects, so that a sink renamed on the same broker announces after the old name's removal, not before.
 */
export async function mqttDiscovery(config: Config, context: { dataDir: string; env: NodeJS.ProcessEnv; logger: Logger }): Promise<MqttDiscoveryWiring> {
  const store = new AnnouncedSensors(context.dataDir);
  const announcing = new Set(config.sinks.filter(announces).map((sink) => sink.name));
  const known = await store.load().catch(() => ({}));
  const stale = Object.keys(known).some((name) => !announcing.has(name));

  let begin: () => void = () => undefined;
  const removed = stale ? new Promise<void>((resolve) => (begin = resolve)) : undefined;
  const credentials = async (entry: Announcement) => {
    const spec = parseSinkSpec(entry.url);
    const same = config.sinks.find((sink) => isMqttUrl(sink.url) && parseSinkSpec(sink.url).url === spec.url);
    const configured = same === undefined ? { username: entry.username } : { username: same.username, password: same.password, ca: same.ca };
    return resolveSinkSecrets(spec, configured, { env: context.env });
  };

  return {
    sinkOptions(sink) {
      if (!isMqttUrl(sink.url)) return {};
      const url = parseSinkSpec(sink.url).url;
      return {
        ...(removed === undefined ? {} : { before: removed }),
        ...(announces(sink)
          ? { onAnnounced: (topics: string[]) => store.record(sink.name, { url, ...(sink.username === undefined ? {} : { username: sink.username }), topics }) }
          : {}),
      };
    },
    ...(removed === undefined
      ? {}
      : {
          removal: {
            name: 'mqtt-discovery-removal',
            start: () => {
              void removeStaleSensors(store, { announcing, credentials, logger: context.logger })
                .catch(() => undefined)
                .finally(begin);
            },
            stop: () => undefined,
          },
        }),
  };
}
