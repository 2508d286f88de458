import type { Config } from '../config.js';
import { HistoryRecorder } from '../history/recorder.js';
import { createStatusServer, LiveFeed, queueHistory, statusSnapshot, type StatusServer } from '../http/index.js';
import type { Logger } from '../log.js';
import type { QueueRecord } from '../queue/types.js';
import type { Service } from './service.js';
import { sinkFromConfig } from '../sinks/create.js';
import { parseTelegram } from '../telegram/parse.js';
import { Uploader } from '../delivery/uploader.js';

/** What `p1logger run` adds around acquisition: one uploader per sink, the status server, the live feed. */
export interface Appliance {
  /** For the service's onStored: feeds the live graph and wakes the uploaders. */
  stored(record: QueueRecord): void;
  readonly uploaders: readonly Uploader[];
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
  for (const sinkConfig of config.sinks) {
    const sink = await sinkFromConfig(sinkConfig, { env, timeZone: config.timeZone });
    const uploader = new Uploader({
      name: sinkConfig.name,
      sink,
      log: service.queue,
      batchSize: sinkConfig.batchSize,
      retry: { capMs: sinkConfig.maxRetryDelaySeconds * 1000 },
      logger,
    });
    uploaders.push(uploader);
    service.add(uploader);
  }

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
        server = await createStatusServer({
          listen: config.http.listen,
          timeZone: config.timeZone,
          logger,
          live,
          history: queueHistory(service.queue, { timeZone: config.timeZone }),
          aggregates: { source: history, tariffs: config.tariffs, ui: config.ui },
          status: async () =>
            statusSnapshot({
              source: service.source,
              counters: service.counters,
              queue: await service.queue.status(),
              uploaders: uploaders.map((u) => u.stats()),
              lastTelegramAt: live.lastTelegramAt,
              intervalSeconds: live.intervalSeconds,
            }),
        });
      },
      stop: async () => {
        await server?.close();
      },
    });
  }

  return {
    stored(record: QueueRecord): void {
      for (const uploader of uploaders) uploader.notify();
      history.stored(record);
      if (server !== null) live.publish(parseTelegram(record.raw, { timeZone: config.timeZone }), new Date(record.receivedAt));
    },
    uploaders,
    history,
    get server() {
      return server;
    },
  };
}
