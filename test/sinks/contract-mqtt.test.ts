import { MqttSink } from '../../src/sinks/mqtt/sink.js';
import { parseSinkSpec, type MqttSpec } from '../../src/sinks/spec.js';
import { freePort } from '../support/free-port.js';
import { Mosquitto, Subscriber } from '../support/mosquitto.js';
import { sinkContract } from './contract.js';

const USER = 'p1logger';
const PASSWORD = 'contract-mqtt-password-2236';
const WRONG = 'contract-mqtt-wrong-password-1123';

sinkContract('mqtt (Mosquitto with a password file)', async () => {
  const broker = await Mosquitto.start({ users: { [USER]: PASSWORD } });
  // What a broker holds of a state message is what its subscribers got: a re-send may only add exact copies.
  const subscriber = await Subscriber.connect(broker.url, ['p1logger/#', 'homeassistant/#'], { username: USER, password: PASSWORD });
  const sink = (url: string, password: string): MqttSink =>
    new MqttSink({ spec: parseSinkSpec(url) as MqttSpec, username: USER, password, retainState: false, timeoutMs: 10_000 });
  return {
    sink: () => sink(broker.url, PASSWORD),
    refused: () => sink(broker.url, WRONG),
    unreachable: async () => sink(`mqtt://127.0.0.1:${await freePort()}`, PASSWORD),
    stored: async () => {
      // Everything published before the marker has arrived once the marker has.
      const marker = `p1logger/contract-marker/${subscriber.messages.length}`;
      await subscriber.client.publishAsync(marker, 'end', { qos: 1 });
      await subscriber.until((messages) => messages.some((m) => m.topic === marker));
      return subscriber.messages.filter((m) => !m.topic.includes('contract-marker') && !m.topic.endsWith('/status')).map((m) => `${m.topic} ${m.payload}`);
    },
    secrets: [PASSWORD, WRONG],
    close: async () => {
      await subscriber.close();
      await broker.close();
    },
  };
});
