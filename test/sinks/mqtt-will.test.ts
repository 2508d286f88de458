import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchCli } from '../support/cli.js';
import { freePort } from '../support/free-port.js';
import { Mosquitto, retained, Subscriber } from '../support/mosquitto.js';

/**
 * Home Assistant shows the meter unavailable when p1logger dies, not only when it stops: the status topic's
 * `offline` is the connection's Last Will, which the broker publishes when the process is killed.
 */
describe('p1logger run with an MQTT sink, killed', () => {
  let dir: string;
  let broker: Mosquitto;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p1logger-mqtt-will-'));
    broker = await Mosquitto.start({});
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL: the broker publishes the Last Will, a retained offline on the status topic', async () => {
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      ['source: simulate?interval=0.2', `dataDir: ${join(dir, 'data')}`, `http: { listen: "127.0.0.1:${await freePort()}" }`, 'sinks:', `  - name: ha`, `    url: ${broker.url}`].join('\n'),
    );
    const subscriber = await Subscriber.connect(broker.url, ['p1logger/+/status']);
    cleanups.push(() => subscriber.close());
    const run = watchCli(['run', '--config', config], cleanups);
    await subscriber.until((messages) => messages.some((m) => m.payload === 'online'));
    const topic = subscriber.messages.find((m) => m.payload === 'online')!.topic;

    run.child.kill('SIGKILL');
    await run.exit;
    await subscriber.until((messages) => messages.some((m) => m.topic === topic && m.payload === 'offline'), 30_000);
    // Retained: whoever subscribes later (Home Assistant after its own restart) sees the meter offline too.
    expect((await retained(broker.url, topic)).get(topic)).toBe('offline');
  });
});
