/** What a bounded client writes to: a socket, or an HTTP response (both count what they hold in `writableLength`). */
export interface ClientStream {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(chunk: string | Buffer): boolean;
  destroy(): void;
}

export interface BoundedClientOptions {
  /** Bytes that may wait in this process for the client; a message that would go past it is not written. */
  maxBufferedBytes: number;
  /** Messages not written in a row before the client is dropped: 0 drops it at the first (a byte stream must not have holes). */
  maxSkipped: number;
  /** Called once, when the client is dropped (before its stream is destroyed). */
  onDrop?: (client: BoundedClient) => void;
}

export type SendResult = 'sent' | 'skipped' | 'dropped';

/**
 * One client of a stream of messages (the live graph's events, the relay's telegrams) that may stop reading at any
 * time. Writes never wait and never pile up: while the client's buffer is full, messages are skipped; one that stays
 * full is dropped (its connection destroyed). So what p1logger holds for a client is at most `maxBufferedBytes`,
 * whatever the client does, and a slow client never slows the one who feeds it.
 */
export class BoundedClient {
  /** Bytes handed to the stream. */
  bytesSent = 0;
  messagesSent = 0;
  /** Messages not written because the buffer was full. */
  skipped = 0;
  dropped = false;
  private skippedInRow = 0;

  constructor(
    readonly stream: ClientStream,
    private readonly options: BoundedClientOptions,
  ) {}

  /** Bytes waiting in this process for the client now. */
  get bufferedBytes(): number {
    return this.stream.destroyed ? 0 : this.stream.writableLength;
  }

  send(message: string | Buffer): SendResult {
    if (this.dropped || this.stream.destroyed) return 'dropped';
    const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    if (this.stream.writableLength + size > this.options.maxBufferedBytes) {
      this.skipped++;
      this.skippedInRow++;
      if (this.skippedInRow > this.options.maxSkipped) {
        this.drop();
        return 'dropped';
      }
      return 'skipped';
    }
    this.skippedInRow = 0;
    this.stream.write(message);
    this.bytesSent += size;
    this.messagesSent++;
    return 'sent';
  }

  /** Drops the client: its connection is destroyed, what waited for it is freed. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.options.onDrop?.(this);
    this.stream.destroy();
  }
}
