import { ReasonCodes } from 'mqtt';
import type { SinkError } from '../sink.js';
import { mqttFailure, timeoutFailure } from './failure.js';
import { encodeTopic, publishSize, writePublish } from './packets.js';
import type { MqttMessage } from './topics.js';

/** Packet identifiers the publisher uses; mqtt.js is given the rest (its SUBSCRIBE), so the two never share one. */
export const OWN_PACKET_IDS = { first: 1, last: 60_000 } as const;

/** Where packets go: the connection's socket. */
export interface PacketStream {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
}

export interface PublisherOptions {
  v5: boolean;
  /** QoS 1 messages waiting for their PUBACK at most (the broker's Receive Maximum, when MQTT 5 says one). */
  window: number;
  /** MQTT 5: the broker's Maximum Packet Size; a larger message is refused here, as the broker would (0x95). */
  maxPacketBytes?: number;
  /** A broker that acknowledges nothing for this long while messages wait is given up. */
  timeoutMs: number;
  description: string;
  secrets: readonly string[];
  /** The broker stopped acknowledging: the connection is to be dropped (which calls fail()). */
  onStall(error: SinkError): void;
}

/** One publish() call: its messages, written in order, and how many of them still wait for a PUBACK. */
interface Publication {
  messages: Iterator<MqttMessage>;
  /** Every message has been written. */
  written: boolean;
  outstanding: number;
  settled: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** Bytes of packets per write: a few dozen telegrams' messages in one syscall instead of one each. */
const CHUNK_BYTES = 64 * 1024;
/** Above this much in the socket's own buffer, writing waits for it to drain. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Topics encoded once (a meter's few state topics, its discovery configs); a new meter cannot make it grow for ever. */
const MAX_TOPICS = 1000;

/**
 * QoS 1 publishing on one connection, without a packet object, a store or a callback per message: packets are
 * written into 64 KiB chunks (one write each), PUBACKs are counted per publish() call, which resolves when every
 * message of it is acknowledged. Calls write in the order they were made, one after another, so messages reach
 * the broker in order; messages are pulled from the caller's iterator only while the window has room, so nothing
 * beyond what is in flight is held here. On failure the connection is given up whole (fail()): what is unacknowledged
 * is never sent again from here, the caller sends its batch again on a new connection.
 */
export class Publisher {
  /** Calls still writing, in order: the head is the one being written. */
  private readonly queue: Publication[] = [];
  /** Calls not settled yet, written or not (a written one still waits for its PUBACKs). */
  private readonly pending = new Set<Publication>();
  /** The publication each outstanding packet identifier belongs to. */
  private readonly owners: Array<Publication | undefined> = [];
  private readonly topics = new Map<string, Buffer>();
  private inFlight = 0;
  private nextId: number = OWN_PACKET_IDS.first;
  private failed: SinkError | undefined;
  private waiting = false;
  private scheduled = false;
  private draining = false;
  private acks = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: PacketStream,
    private readonly options: PublisherOptions,
  ) {}

  /** Publishes every message with QoS 1, in order; resolves once each is acknowledged, rejects with a SinkError. */
  publish(messages: Iterable<MqttMessage>, signal?: AbortSignal): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => this.settle(publication, signal === undefined ? new Error('aborted') : abortReason(signal));
      const publication: Publication = {
        messages: messages[Symbol.iterator](),
        written: false,
        outstanding: 0,
        settled: false,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.add(publication);
      this.queue.push(publication);
      if (this.queue.length === 1) this.pump();
    });
  }

  /** A PUBACK for one of OWN_PACKET_IDS (MQTT 5: with its reason code). */
  acknowledged(packetId: number, reasonCode = 0): void {
    const publication = this.owners[packetId];
    if (publication === undefined) return;
    this.owners[packetId] = undefined;
    this.inFlight--;
    this.acks++;
    publication.outstanding--;
    // 0x10, "no matching subscribers", is a success.
    if (reasonCode >= 0x80) {
      const error = Object.assign(new Error(`Publish error: ${ReasonCodes[reasonCode as keyof typeof ReasonCodes] ?? 'refused'}`), { code: reasonCode });
      this.settle(publication, mqttFailure(this.options.description, error, this.options.secrets));
    } else if (publication.written && publication.outstanding === 0) {
      this.settle(publication);
    }
    if (this.inFlight === 0) this.stopWatchdog();
    if (this.waiting && this.inFlight <= this.options.window - Math.ceil(this.options.window / 4)) this.schedulePump();
  }

  /** The connection is gone: every call fails with `error`, now and from now on. */
  fail(error: SinkError): void {
    if (this.failed !== undefined) return;
    this.failed = error;
    this.stopWatchdog();
    this.owners.length = 0;
    this.inFlight = 0;
    this.queue.length = 0;
    for (const publication of [...this.pending]) this.settle(publication, error);
  }

  /** Writes messages of the publication at the head of the queue while the window and the socket have room. */
  private pump(): void {
    this.waiting = false;
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let used = 0;
    const { v5, window } = this.options;
    while (this.failed === undefined) {
      const publication = this.queue[0];
      if (publication === undefined) break;
      if (publication.settled || publication.written) {
        // Done writing (or given up): the next call writes after it, so the broker gets the messages in order.
        this.queue.shift();
        continue;
      }
      if (this.inFlight >= window || this.stream.writableLength >= HIGH_WATER_BYTES) {
        this.waiting = true;
        if (this.stream.writableLength >= HIGH_WATER_BYTES && !this.draining) {
          this.draining = true;
          this.stream.once('drain', () => {
            this.draining = false;
            this.schedulePump();
          });
        }
        break;
      }
      let next: IteratorResult<MqttMessage>;
      try {
        next = publication.messages.next();
      } catch (error) {
        this.settle(publication, error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (next.done === true) {
        publication.written = true;
        if (publication.outstanding === 0) this.settle(publication);
        continue;
      }
      const message = next.value;
      const topic = this.topic(message.topic);
      const payloadBytes = Buffer.byteLength(message.payload, 'utf8');
      const size = publishSize(topic, payloadBytes, v5);
      if (this.options.maxPacketBytes !== undefined && size > this.options.maxPacketBytes) {
        const error = Object.assign(new Error(`a message of ${size} bytes on ${message.topic}, more than the broker's Maximum Packet Size of ${this.options.maxPacketBytes}`), { code: 0x95 });
        this.settle(publication, mqttFailure(this.options.description, error, this.options.secrets));
        continue;
      }
      if (size > chunk.length - used) {
        if (used > 0) this.stream.write(chunk.subarray(0, used));
        chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size));
        used = 0;
      }
      const packetId = this.allocateId();
      used = writePublish(chunk, used, { topic, payload: message.payload, payloadBytes, retain: message.retain, packetId, v5 });
      this.owners[packetId] = publication;
      publication.outstanding++;
      this.inFlight++;
    }
    if (used > 0) this.stream.write(chunk.subarray(0, used));
    if (this.inFlight > 0) this.startWatchdog();
  }

  /** Pumps once after the current burst of PUBACKs, not once per PUBACK. */
  private schedulePump(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private allocateId(): number {
    // At most `window` identifiers are taken, far fewer than there are: the search is short.
    for (;;) {
      const id = this.nextId;
      this.nextId = id === OWN_PACKET_IDS.last ? OWN_PACKET_IDS.first : id + 1;
      if (this.owners[id] === undefined) return id;
    }
  }

  private topic(name: string): Buffer {
    let encoded = this.topics.get(name);
    if (encoded === undefined) {
      if (this.topics.size >= MAX_TOPICS) this.topics.clear();
      encoded = encodeTopic(name);
      this.topics.set(name, encoded);
    }
    return encoded;
  }

  private settle(publication: Publication, error?: Error): void {
    if (publication.settled) return;
    publication.settled = true;
    this.pending.delete(publication);
    if (error === undefined) publication.resolve();
    else publication.reject(error);
  }

  /**
   * One timer while messages wait, not one per message: it fires after timeoutMs, and gives the broker up only
   * when no PUBACK at all came in that time (so a stall is noticed within one to two timeoutMs).
   */
  private startWatchdog(): void {
    if (this.watchdog !== undefined) return;
    let seen = this.acks;
    this.watchdog = setInterval(() => {
      if (this.acks !== seen) {
        seen = this.acks;
        return;
      }
      this.stopWatchdog();
      this.options.onStall(timeoutFailure(this.options.description, `PUBACK for ${this.inFlight} messages`, this.options.timeoutMs));
    }, this.options.timeoutMs);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
