import type { Logger } from '../../log.js';
import type { SinkSecrets } from '../secrets.js';
import { parseSinkSpec, type MqttSpec } from '../spec.js';
import type { AnnouncedSensors, Announcement } from './announced.js';
import { removalMessage } from './discovery.js';
import { BrokerSession } from './session.js';
import { topicId } from './topics.js';

export interface RemovalOptions {
  /** Names of the sinks that announce sensors now (mqtt, discovery on): theirs stay. */
  announcing: ReadonlySet<string>;
  /** The credentials for a broker: those of a sink still configured for it, else the environment's. */
  credentials(entry: Announcement): Promise<SinkSecrets>;
  logger: Logger;
  /** For the connection and the PUBACKs. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Removes from Home Assistant the sensors of sinks that no longer announce any (removed from the configuration,
 * or discovery turned off): an empty retained config on each topic they announced. Best effort, on start: a
 * broker that cannot be reached now keeps its entry, for the next start.
 */
export async function removeStaleSensors(store: AnnouncedSensors, options: RemovalOptions): Promise<void> {
  let all: Record<string, Announcement>;
  try {
    all = await store.load();
  } catch (error) {
    options.logger.warn({ err: error, file: store.file }, 'cannot read the announced Home Assistant sensors; none removed');
    return;
  }
  for (const [name, entry] of Object.entries(all)) {
    if (options.announcing.has(name)) continue;
    try {
      const spec = parseSinkSpec(entry.url) as MqttSpec;
      const secrets = await options.credentials(entry);
      const session = await BrokerSession.open({
        spec,
        clientId: `p1logger-remove-${topicId(name)}`,
        ...(secrets.username === undefined ? {} : { username: secrets.username }),
        ...(secrets.password === undefined ? {} : { password: secrets.password }),
        ...(secrets.ca === undefined ? {} : { ca: secrets.ca }),
        protocolVersion: 4,
        keepaliveSeconds: 60,
        timeoutMs: options.timeoutMs ?? 10_000,
        description: spec.url,
        secrets: [secrets.password].filter((s): s is string => s !== undefined),
      });
      try {
        await session.publish(entry.topics.map(removalMessage));
      } finally {
        await session.end();
      }
      await store.forget(name);
      options.logger.info({ sink: name, broker: spec.url, sensors: entry.topics.length }, 'removed the Home Assistant sensors of a sink that no longer announces them');
    } catch (error) {
      options.logger.warn({ sink: name, broker: entry.url, err: error }, 'could not remove the Home Assistant sensors of a removed sink; trying again on the next start');
    }
  }
}
