import { apiUrlOf, canonicalDataDir, removeApiFile, writeApiFile } from '../client/service-api.js';
import type { Config } from '../config.js';
import { HistoryRecorder } from '../history/recorder.js';
import { createStatusServer, LiveFeed, queueHistory, statusSnapshot, type StatusServer } from '../http/index.js';
import type { Logger } from '../log.js';
import type { QueueRecord } from '../queue/types.js';
import { Relay } from '../relay/relay.js';
import type { Service } from './service.js';
import { sinkFromConfig } from '../sinks/create.js';
import { frameTelegram } from '../frames/stored.js';
import { mqttDiscovery } from '../sinks/mqtt/wiring.js';
import { defaultPublishPolicy } from '../sinks/sink.js';
import { DEFAULT_RETRY_POLICY } from '../delivery/retry-policy.js';
import { Uploader } from '../delivery/uploader.js';

/** What `p1logger run` adds around acquisition: one uploader per sink, the P1 relay, the status server, the live feed. */
export interface Appliance {
  /** For the service's onStored: wakes the uploaders, feeds the relay and the live graph. */
  stored(record: QueueRecord): void;
  readonly uploaders: readonly Uploader[];
  /** The P1 relay (null when relay.listen is not set). */
  readonly relay: Relay | null;
  /** Hour/day aggregates, kept in the queue's database (src/history/). */
  readonly history: HistoryRecorder;
  /** The bound status server once the service has started (null when http.enabled is false). */
  readonly server: StatusServer | null;
}

/**
 * Adds the uploaders and the status server to `service` as components (started after the queue opened, stopped
 * before it closes). Sink specs and secrets are checked here, before anything starts.
 */
export async function addAppliance(service: Service, config: Config, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Appliance> {
  const live = new LiveFeed();
  const uploaders: Uploader[] = [];
  const discovery = await mqttDiscovery(config, { dataDir: service.queue.dataDir, env, logger });
  for (const sinkConfig of config.sinks) {
    const retry = { ...DEFAULT_RETRY_POLICY, capMs: sinkConfig.maxRetryDelaySeconds * 1000 };
    const sink = await sinkFromConfig(sinkConfig, { env, timeZone: config.timeZone, logger, retry, ...discovery.sinkOptions(sinkConfig) });
    const uploader = new Uploader({
      name: sinkConfig.name,
      sink,
      log: service.queue,
      batchSize: sinkConfig.batchSize,
      retry,
      publish: sinkConfig.publish ?? defaultPublishPolicy(sink.kind),
      logger,
    });
    uploaders.push(uploader);
    service.add(uploader);
  }
  // Started before the uploaders (whose mqtt sinks wait for it), without holding up acquisition.
  if (discovery.removal !== undefined) service.add(discovery.removal);

  // Beside the uploaders, fed with what was stored: it never touches acquisition.
  const relay = config.relay.listen === undefined ? null : new Relay({ listen: config.relay.listen, maxClients: config.relay.maxClients, logger });
  if (relay !== null) service.add(relay);

  const history = new HistoryRecorder({
    queue: service.queue,
    timeZone: config.timeZone,
    parse: { timeZone: config.timeZone },
    logger,
    ...(config.history.maxAgeDays === undefined ? {} : { maxAgeDays: config.history.maxAgeDays }),
  });
  service.add(history);

  let server: StatusServer | null = null;
  if (config.http.enabled) {
    service.add({
      name: 'http',
      start: async () => {
        const dataDir = await canonicalDataDir(service.queue.dataDir);
        server = await createStatusServer({
          listen: config.http.listen,
          timeZone: config.timeZone,
          logger,
          live,
          history: queueHistory(service.queue, { timeZone: config.timeZone }),
          aggregates: { source: history, tariffs: config.tariffs, ui: config.ui },
          status: async () =>
            statusSnapshot({
              dataDir,
              source: service.source,
              counters: service.counters,
              queue: await service.queue.status(),
              uploaders: uploaders.map((u) => u.stats()),
              lastTelegramAt: live.lastTelegramAt,
              intervalSeconds: live.intervalSeconds,
              ...(relay === null ? {} : { relay: relay.stats() }),
            }),
        });
        // Where commands on this data directory find us (status, history, ...): the configured port may be another's.
        const { host, port } = server.address;
        const url = apiUrlOf(`${host.includes(':') ? `[${host}]` : host}:${port}`) ?? server.url;
        await writeApiFile(service.queue.dataDir, url).catch((error: unknown) => logger.warn({ err: error }, 'could not write the API address file; `p1logger status` needs --listen'));
      },
      stop: async () => {
        await removeApiFile(service.queue.dataDir).catch(() => undefined);
        await server?.close();
      },
    });
  }

  return {
    stored(record: QueueRecord): void {
      for (const uploader of uploaders) uploader.notify();
      relay?.publish(record.raw);
      history.stored(record);
      if (server === null) return;
      const telegram = frameTelegram(record, { timeZone: config.timeZone });
      if (telegram !== null) live.publish(telegram, new Date(record.receivedAt));
    },
    uploaders,
    relay,
    history,
    get server() {
      return server;
    },
  };
}
