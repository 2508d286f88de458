import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../delivery/retry-policy.js';
import { silentLogger, type Logger } from '../../log.js';
import type { QueueRecord } from '../../queue/types.js';
import type { ParseOptions } from '../../telegram/types.js';
import { mapRecord, newMappedTelegram, pointsOf, recordToPoints, type MappedTelegram, type Point } from '../points.js';
import type { SendResult, Sink } from '../sink.js';
import type { MqttSpec } from '../spec.js';
import { P1LOGGER_VERSION } from './device.js';
import { configMessage, sensorsOf, type Sensor } from './discovery.js';
import { BrokerSession } from './session.js';
import { ElectricityStateJson, stateJson } from './state-json.js';
import { meterOf, STATUS_OFFLINE, STATUS_ONLINE, subtopics, topicId, topicsFor, type MqttMessage, type Topics } from './topics.js';

export type MqttProtocol = '3.1.1' | '5';

export interface MqttSinkOptions {
  spec: MqttSpec;
  username?: string;
  password?: string;
  /** PEM of the CA of a self-signed broker. */
  ca?: string;
  /** True (`publish: latest`): every state message is retained, being the newest reading. */
  retainState: boolean;
  /** Default `p1logger-<meter id>`. */
  clientId?: string;
  /** Topic prefix; default `p1logger/<meter id>`. */
  topic?: string;
  /** Default 3.1.1, which every broker speaks. */
  protocol?: MqttProtocol;
  /** Default 60. */
  keepaliveSeconds?: number;
  /** Home Assistant discovery: on by default, under `homeassistant`. */
  discovery?: { enabled: boolean; prefix: string };
  /** For CONNACK and for the PUBACKs of one batch. Default 30 s. */
  timeoutMs?: number;
  parse?: ParseOptions;
  logger?: Logger;
  /** For Home Assistant's device page; default this package's. */
  version?: string;
  /** Told each time the set of announced config topics grows (remembered, so that removing the sink removes them). */
  onAnnounced?: (configTopics: string[]) => Promise<void>;
  /** Waited for before the first connection (the removal of entities of sinks no longer configured). */
  before?: Promise<void>;
  /** Reconnects after a dropped connection while nothing is sent; capMs as the uploader's. */
  reconnect?: RetryPolicy;
}

/** Records per batch: with the telegram's M-Bus devices, up to some 25,000 messages of 65,535 packet ids. */
export const MQTT_MAX_RECORDS = 5000;

interface Identity {
  clientId: string;
  topics: Topics;
}

/**
 * An MQTT broker (`mqtt://`, `mqtts://`), at least once: every message QoS 1, and send() resolves only when the
 * broker acknowledged every message of the batch (PUBACK), so the uploader's cursor never passes a message that
 * was not taken. A connection that drops fails the batch, which the uploader sends again after its backoff; a
 * re-sent message is an exact copy. Topics, client id and Home Assistant's device come from the meter, so the
 * connection is made with the first batch.
 */
export class MqttSink implements Sink {
  readonly kind = 'mqtt';
  readonly description: string;
  /**
   * Two batches on the way: the publisher writes them one after the other on the one connection, and when one fails
   * the connection is gone with both, which the uploader sends again in order. So messages arrive in the order of
   * the telegrams, and our parsing of the second overlaps the broker's acknowledging of the first.
   */
  readonly maxInFlight = 2;
  readonly maxBatchRecords = MQTT_MAX_RECORDS;
  private readonly options: MqttSinkOptions;
  private readonly logger: Logger;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly discovery: { enabled: boolean; prefix: string };
  private readonly reconnectPolicy: RetryPolicy;
  private session: BrokerSession | undefined;
  private identity: Identity | undefined;
  private opening: Promise<BrokerSession> | undefined;
  /** The sensors announced by this process, by config topic: re-announced on each connection and HA's birth. */
  private readonly sensors = new Map<string, Sensor>();
  /** The quantity sets already turned into sensors (field names and subtopics of a telegram). */
  private readonly shapes = new Set<string>();
  private readonly closing = new AbortController();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private readonly electricityJson = new ElectricityStateJson();

  constructor(options: MqttSinkOptions) {
    this.options = options;
    this.description = options.spec.url;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'mqtt', broker: options.spec.url });
    this.secrets = [options.password].filter((s): s is string => s !== undefined);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.discovery = options.discovery ?? { enabled: true, prefix: 'homeassistant' };
    this.reconnectPolicy = options.reconnect ?? DEFAULT_RETRY_POLICY;
  }

  async send(records: readonly QueueRecord[], signal?: AbortSignal): Promise<SendResult> {
    // The connection is the newest telegram's meter's; the messages are made as the broker takes them (below).
    const newest = this.newestPoints(records);
    if (newest === undefined) return { points: 0, requests: 0 };
    const session = await this.sessionFor(this.identityOf(newest), signal);
    const batch = { messages: 0, fresh: [] as Sensor[], shapes: new Set<string>() };
    await session.publish(this.messagesOf(records, batch), signal);
    if (batch.fresh.length > 0) await this.announced(batch.fresh, batch.shapes);
    return { points: batch.messages, requests: 1 };
  }

  /** The points of the newest record that has any. */
  private newestPoints(records: readonly QueueRecord[]): Point[] | undefined {
    for (let i = records.length - 1; i >= 0; i--) {
      const points = recordToPoints(records[i]!, this.options.parse);
      if (points.length > 0) return points;
    }
    return undefined;
  }

  /**
   * The batch's messages, in the order of its telegrams, made one telegram at a time as the publisher has room for
   * them (our parsing overlaps the broker's work, and a batch is never held whole as messages): each telegram's
   * state messages, after the discovery configs of the sensors it is the first to have.
   */
  private *messagesOf(records: readonly QueueRecord[], batch: { messages: number; fresh: Sensor[]; shapes: Set<string> }): Generator<MqttMessage> {
    const mapped = newMappedTelegram();
    const retain = this.options.retainState;
    const parse = this.options.parse ?? {};
    // The shape of the telegram before, whose sensors and topics are known (most telegrams are shaped like it),
    // and its device points, whose readings the next telegram most often repeats.
    let shaped: Shaped | undefined;
    let previousExtra: readonly Point[] = [];
    for (const record of records) {
      mapRecord(record, parse, mapped);
      const electricity = mapped.time !== undefined;
      if (!electricity && mapped.extra.length === 0) continue;
      const meter = electricity ? mapped.meter : meterOf(mapped.extra);
      const known = shaped !== undefined && shapedLike(mapped, meter, shaped) && sameShape(mapped.extra, previousExtra);
      if (!known || shaped === undefined) {
        const points = pointsOf(mapped);
        const topics = this.topicsOf(points);
        shaped = { meter, electricity, fieldIds: mapped.fieldIds.slice(0, mapped.fieldCount), topics: subtopics(points).map((name) => `${topics.prefix}/${name}`) };
        if (this.discovery.enabled) {
          for (const sensor of this.newSensors(points, record.raw, topics, batch)) {
            batch.fresh.push(sensor);
            yield configMessage(sensor);
          }
        }
      }
      const stateTopics = shaped.topics;
      let topic = 0;
      if (electricity) {
        batch.messages++;
        yield { topic: stateTopics[topic++]!, payload: this.electricityJson.write(mapped), retain };
      }
      // A device's reading repeats in every telegram until its next one (DSMR 5 gas: 300 telegrams): it is sent
      // when it is new, and with the batch's first telegram, so a batch sent again carries it again.
      for (let i = 0; i < mapped.extra.length; i++) {
        const point = mapped.extra[i]!;
        const deviceTopic = stateTopics[topic++]!;
        if (known && sameReading(point, previousExtra[i]!)) continue;
        batch.messages++;
        yield { topic: deviceTopic, payload: stateJson(point), retain };
      }
      previousExtra = mapped.extra;
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    clearTimeout(this.reconnectTimer);
    await this.opening?.catch(() => undefined);
    const session = this.session;
    this.session = undefined;
    if (session !== undefined && this.identity !== undefined) await session.end(this.status(this.identity, STATUS_OFFLINE));
  }

  private topicsOf(points: readonly Point[]): Topics {
    return topicsFor(meterOf(points), this.options.topic);
  }

  private identityOf(points: readonly Point[]): Identity {
    const meter = meterOf(points);
    return { clientId: this.options.clientId ?? `p1logger-${topicId(meter)}`, topics: this.topicsOf(points) };
  }

  private status(identity: Identity, payload: string): MqttMessage {
    return { topic: identity.topics.status, payload, retain: true };
  }

  /**
   * Sensors of this telegram's quantities not announced yet; cheap for telegrams shaped like one seen before. A
   * shape counts as seen once the broker has its configs (announced()): a batch that failed announces them again.
   */
  private newSensors(points: readonly Point[], raw: string, topics: Topics, batch: { fresh: Sensor[]; shapes: Set<string> }): Sensor[] {
    const shape = `${topics.prefix}|${points.map((p) => `${p.measurement}:${p.tags.meter ?? ''}:${Object.keys(p.fields).join(',')}`).join('|')}`;
    if (this.shapes.has(shape) || batch.shapes.has(shape)) return [];
    batch.shapes.add(shape);
    const context = { discoveryPrefix: this.discovery.prefix, prefix: topics.prefix, statusTopic: topics.status, version: this.options.version ?? P1LOGGER_VERSION };
    return sensorsOf(points, raw, context).filter((sensor) => !this.sensors.has(sensor.configTopic) && !batch.fresh.some((f) => f.configTopic === sensor.configTopic));
  }

  /** The broker acknowledged the configs of these sensors: re-announced from now on, and remembered for removal. */
  private async announced(sensors: readonly Sensor[], shapes: ReadonlySet<string>): Promise<void> {
    for (const sensor of sensors) this.sensors.set(sensor.configTopic, sensor);
    for (const shape of shapes) this.shapes.add(shape);
    this.logger.info({ sensors: sensors.map((s) => s.object) }, 'Home Assistant discovery: sensors announced');
    // Remembering them is for a later removal: a failure to write it never holds back the readings.
    await this.options.onAnnounced?.([...this.sensors.keys()]).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'could not remember the announced sensors; removing this sink later will not remove them');
    });
  }

  private async sessionFor(identity: Identity, signal?: AbortSignal): Promise<BrokerSession> {
    const current = this.session;
    if (current !== undefined && this.identity?.clientId === identity.clientId && this.identity.topics.prefix === identity.topics.prefix) {
      if (current.alive) return current;
    } else if (current !== undefined && this.identity !== undefined) {
      this.logger.warn({ from: this.identity.clientId, to: identity.clientId }, 'the meter changed: reconnecting as the new one');
      this.session = undefined;
      await current.end(this.status(this.identity, STATUS_OFFLINE));
    }
    this.opening ??= this.open(identity).finally(() => (this.opening = undefined));
    const opening = this.opening;
    if (signal === undefined) return opening;
    signal.throwIfAborted();
    // The connection goes on (others wait for it too); only this send stops waiting.
    return new Promise<BrokerSession>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      opening.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async open(identity: Identity): Promise<BrokerSession> {
    await this.options.before;
    const options = this.options;
    const session = await BrokerSession.open(
      {
        spec: options.spec,
        clientId: identity.clientId,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        protocolVersion: options.protocol === '5' ? 5 : 4,
        keepaliveSeconds: options.keepaliveSeconds ?? 60,
        timeoutMs: this.timeoutMs,
        will: this.status(identity, STATUS_OFFLINE),
        description: this.description,
        secrets: this.secrets,
      },
      this.closing.signal,
    );
    try {
      if (this.discovery.enabled) {
        // Home Assistant's birth message: after it restarts, it needs the configs again (unless its broker kept them).
        await session.subscribe(`${this.discovery.prefix}/status`, (payload) => {
          if (payload === STATUS_ONLINE) this.reannounce(session);
        });
      }
      await session.publish([this.status(identity, STATUS_ONLINE), ...[...this.sensors.values()].map(configMessage)]);
    } catch (error) {
      await session.end();
      throw error;
    }
    if (this.closing.signal.aborted) {
      await session.end(this.status(identity, STATUS_OFFLINE));
      throw new Error('sink closed');
    }
    session.whenDropped((error) => this.dropped(session, error.message));
    this.session = session;
    this.identity = identity;
    this.reconnectAttempt = 0;
    this.logger.info({ clientId: identity.clientId, topic: identity.topics.prefix }, 'connected to the MQTT broker');
    return session;
  }

  private reannounce(session: BrokerSession): void {
    if (this.sensors.size === 0) return;
    session.publish([...this.sensors.values()].map(configMessage)).then(
      () => this.logger.info({ sensors: this.sensors.size }, 'Home Assistant came online: sensors announced again'),
      (error: unknown) => this.logger.warn({ err: error }, 'Home Assistant came online, announcing the sensors again failed'),
    );
  }

  /** The connection dropped: the uploader resends what was in flight; here only the session comes back. */
  private dropped(session: BrokerSession, reason: string): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.logger.warn({ reason }, 'connection to the MQTT broker lost; reconnecting with backoff');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closing.signal.aborted || this.identity === undefined) return;
    clearTimeout(this.reconnectTimer);
    const delayMs = backoffDelay(++this.reconnectAttempt, this.reconnectPolicy);
    this.reconnectTimer = setTimeout(() => {
      const identity = this.identity;
      if (identity === undefined || this.closing.signal.aborted || this.session?.alive === true) return;
      this.sessionFor(identity).catch((error: unknown) => {
        this.logger.debug({ err: error }, 'reconnecting to the MQTT broker failed');
        this.scheduleReconnect();
      });
    }, delayMs);
    this.reconnectTimer.unref();
  }
}

/** What a telegram's messages are made of, but for their values and its device points: meter, fields, topics. */
interface Shaped {
  meter: string | undefined;
  /** It has an electricity point, with these fields in this order. */
  electricity: boolean;
  fieldIds: Int32Array;
  /** The topic of each state message: the electricity point's first, then one per device point. */
  topics: string[];
}

/** The same meter and electricity fields as `shaped`, in the same order (its device points are compared apart). */
function shapedLike(mapped: MappedTelegram, meter: string | undefined, shaped: Shaped): boolean {
  if (meter !== shaped.meter || (mapped.time !== undefined) !== shaped.electricity || mapped.fieldCount !== shaped.fieldIds.length) return false;
  for (let i = 0; i < mapped.fieldCount; i++) if (mapped.fieldIds[i] !== shaped.fieldIds[i]) return false;
  return true;
}

/** The same reading of a device (points of the same shape): its time and values. */
function sameReading(point: Point, before: Point): boolean {
  if (point.time !== before.time) return false;
  for (const key in point.fields) if (point.fields[key] !== before.fields[key]) return false;
  return true;
}

/** The same measurements, meters and field names, in the same order (what newSensors' shape string says). */
function sameShape(points: readonly Point[], before: readonly Point[]): boolean {
  if (points.length !== before.length) return false;
  for (let i = 0; i < points.length; i++) {
    const a = points[i]!;
    const b = before[i]!;
    if (a.measurement !== b.measurement || a.tags.meter !== b.tags.meter) return false;
    const keys = Object.keys(b.fields);
    let n = 0;
    for (const key in a.fields) if (keys[n++] !== key) return false;
    if (n !== keys.length) return false;
  }
  return true;
}
