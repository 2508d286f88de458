import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { SinkError } from '../sink.js';
import type { MqttSpec } from '../spec.js';
import { connectionLost, mqttFailure, timeoutFailure } from './failure.js';
import { OWN_PACKET_IDS, Publisher } from './publisher.js';
import type { MqttMessage } from './topics.js';

export interface SessionOptions {
  spec: MqttSpec;
  clientId: string;
  username?: string;
  password?: string;
  /** PEM of the CA that signed the broker's certificate (self-signed brokers). */
  ca?: string;
  protocolVersion: 4 | 5;
  keepaliveSeconds: number;
  /** For CONNACK, and for the PUBACKs of one publish() call. */
  timeoutMs: number;
  /** The Last Will: `offline` on the status topic, retained. */
  will?: MqttMessage;
  /** For messages: the sink's description. */
  description: string;
  secrets: readonly string[];
}

/**
 * QoS 1 messages waiting for their PUBACK at most (MQTT 5 brokers may ask for fewer with Receive Maximum): two
 * batches' worth of a DSMR 5 meter's messages, so that the broker always has the next ones to read.
 */
const WINDOW = 2000;

type MessageIdProvider = NonNullable<IClientOptions['messageIdProvider']>;

/** mqtt.js's packet identifiers (its SUBSCRIBE): above the publisher's, so that a PUBACK is never taken for the other's. */
function mqttJsPacketIds(): MessageIdProvider {
  const first = OWN_PACKET_IDS.last + 1;
  const last = 65_535;
  let next = first;
  let lastAllocated: number | null = null;
  return {
    allocate: () => {
      lastAllocated = next;
      next = next === last ? first : next + 1;
      return lastAllocated;
    },
    getLastAllocated: () => lastAllocated,
    register: (id) => id >= first,
    deallocate: () => undefined,
    clear: () => undefined,
  };
}

/**
 * One connection to the broker, as mqtt.js's client with everything that would keep messages beyond it turned off:
 * no reconnect of its own (reconnectPeriod 0: the sink reconnects, with the uploader's backoff), a clean session,
 * no offline queue (nothing is published while disconnected, and QoS 0 is never queued). When the connection
 * drops, the session is over: what waited for a PUBACK fails, and the client with its store of unacknowledged
 * messages is thrown away, so nothing stale is sent again after a reconnect; the uploader sends the batch again.
 */
export class BrokerSession {
  private ended = false;
  private dropped: SinkError | undefined;
  private readonly onDrop = new Set<(error: SinkError) => void>();
  private readonly publisher: Publisher;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: SessionOptions,
  ) {
    const drop = (error: SinkError): void => {
      if (this.dropped !== undefined) return;
      this.dropped = error;
      this.publisher.fail(error);
      client.end(true);
      for (const listener of this.onDrop) listener(error);
    };
    // Packets go out in whole chunks already: Nagle would only hold a batch's last one back for the peer's ACK.
    (client.stream as { setNoDelay?: (noDelay: boolean) => unknown }).setNoDelay?.(true);
    this.publisher = new Publisher(client.stream, {
      v5: options.protocolVersion === 5,
      window: Math.max(1, Math.min(WINDOW, client.serverProperties?.receiveMaximum ?? WINDOW)),
      ...(client.serverProperties?.maximumPacketSize === undefined ? {} : { maxPacketBytes: client.serverProperties.maximumPacketSize }),
      timeoutMs: options.timeoutMs,
      description: options.description,
      secrets: options.secrets,
      // A broker that stopped answering is not waited for again: the connection goes, the batch is sent again.
      onStall: drop,
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined && packet.messageId <= OWN_PACKET_IDS.last) {
        this.publisher.acknowledged(packet.messageId, packet.reasonCode);
      }
    });
    let lastError: unknown;
    client.on('error', (error) => {
      lastError = error;
      // A refusal after CONNACK (MQTT 5 PUBACK codes fail their publish instead) ends the session.
      if (typeof (error as { code?: unknown }).code === 'number') drop(mqttFailure(options.description, error, options.secrets));
    });
    client.on('disconnect', (packet) => {
      lastError = Object.assign(new Error(`the broker disconnected p1logger`), { code: packet.reasonCode ?? 0 });
    });
    client.on('close', () => {
      if (this.ended) return;
      drop(lastError === undefined ? connectionLost(options.description, 'closed') : mqttFailure(options.description, lastError, options.secrets));
    });
  }

  /** Connects; rejects with a classified SinkError when the broker is down or refuses. */
  static open(options: SessionOptions, signal?: AbortSignal): Promise<BrokerSession> {
    signal?.throwIfAborted();
    const client = connect(clientOptions(options));
    // mqtt.js may still report on a client that is given up: never an unhandled 'error' event.
    client.on('error', () => undefined);
    return new Promise<BrokerSession>((resolve, reject) => {
      let lastError: unknown;
      const settle = (outcome: BrokerSession | SinkError | Error): void => {
        client.removeListener('connect', onConnect);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (outcome instanceof BrokerSession) {
          resolve(outcome);
        } else {
          client.end(true);
          reject(outcome);
        }
      };
      const onConnect = (): void => settle(new BrokerSession(client, options));
      const onError = (error: Error): void => {
        lastError = error;
        // mqtt.js closes the connection after a refusal or a CONNACK timeout, and emits `close` next.
        if (typeof (error as { code?: unknown }).code === 'number' || /connack timeout/i.test(error.message)) onClose();
      };
      const onClose = (): void => {
        if (/connack timeout/i.test((lastError as Error | undefined)?.message ?? '')) settle(timeoutFailure(options.description, 'CONNACK', options.timeoutMs));
        else settle(lastError === undefined ? connectionLost(options.description, 'closed before CONNACK') : mqttFailure(options.description, lastError, options.secrets));
      };
      const onAbort = (): void => settle(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get alive(): boolean {
    return this.dropped === undefined && !this.ended;
  }

  /** Called once when the connection drops by itself (not after end()). */
  whenDropped(listener: (error: SinkError) => void): void {
    if (this.dropped !== undefined) listener(this.dropped);
    else this.onDrop.add(listener);
  }

  /**
   * Publishes every message with QoS 1, in order (and after those of earlier calls), and resolves when the broker
   * has acknowledged each (PUBACK). Messages are taken from `messages` only while there is room in the window, so
   * a generator is read as the broker takes them. Rejects with a SinkError as soon as one is refused or the
   * connection drops, and when the broker acknowledges nothing for timeoutMs (the session is then dropped: a
   * broker that stopped answering is not waited for again).
   */
  publish(messages: Iterable<MqttMessage>, signal?: AbortSignal): Promise<void> {
    if (this.dropped !== undefined) return Promise.reject(this.dropped);
    if (this.ended) return Promise.reject(connectionLost(this.options.description, 'closed by p1logger'));
    return this.publisher.publish(messages, signal);
  }

  /** Messages on a topic (Home Assistant's birth message); QoS 0, not kept across sessions. */
  subscribe(topic: string, onMessage: (payload: string) => void): Promise<void> {
    this.client.on('message', (received, payload) => {
      if (received === topic) onMessage(payload.toString('utf8'));
    });
    return this.client.subscribeAsync(topic, { qos: 0 }).then(
      () => undefined,
      (error: unknown) => {
        throw mqttFailure(this.options.description, error, this.options.secrets);
      },
    );
  }

  /**
   * Ends the session: `last` (the status `offline`) published first when the connection is still up, waited for
   * at most `graceMs`, then a DISCONNECT (so the broker does not send the Last Will as well).
   */
  async end(last?: MqttMessage, graceMs = 1000): Promise<void> {
    if (this.ended) return;
    if (last !== undefined && this.alive && this.client.connected) {
      const timeout = AbortSignal.timeout(graceMs);
      await this.publish([last], timeout).catch(() => undefined);
    }
    this.ended = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.end(true);
        resolve();
      }, graceMs);
      this.client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function clientOptions(options: SessionOptions): IClientOptions {
  const { spec } = options;
  return {
    protocol: spec.tls ? 'mqtts' : 'mqtt',
    host: spec.host,
    port: spec.port,
    ...(spec.tls ? { servername: spec.host, rejectUnauthorized: true } : {}),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    clientId: options.clientId,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    protocolVersion: options.protocolVersion,
    keepalive: options.keepaliveSeconds,
    // A PINGREQ every keep-alive period, not a timer re-armed for each of the thousands of PUBACKs a second.
    reschedulePings: false,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: options.timeoutMs,
    queueQoSZero: false,
    resubscribe: false,
    messageIdProvider: mqttJsPacketIds(),
    ...(options.will === undefined ? {} : { will: { topic: options.will.topic, payload: Buffer.from(options.will.payload), qos: 1, retain: options.will.retain } }),
  };
}
