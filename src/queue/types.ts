/** One stored telegram: the raw text as received (the record of truth) and when it was received. */
export interface QueueRecord {
  /** Monotonic across restarts, starting at 1; never reused. */
  seq: number;
  /** ISO 8601 UTC receive time. */
  receivedAt: string;
  /** The telegram from '/' through the CRC line end, latin1 (one char per byte). */
  raw: string;
}

/** A record a sink refused permanently (400/413/422), kept with the server's reason so it can be re-sent. */
export interface DeadLetter {
  sink: string;
  seq: number;
  reason: string;
  parkedAt: string;
}

export interface SinkCursorStatus {
  sink: string;
  /** Last acknowledged seq (0 when nothing was sent yet). */
  cursor: number;
  /** Records after the cursor. */
  lag: number;
  /** Age of the oldest record the sink has not acknowledged (0 when it is up to date). */
  lagSeconds: number;
  /** Records retention removed before this sink had them. */
  dropped: number;
  deadLetters: number;
}

export interface QueueStatus {
  firstSeq: number | null;
  lastSeq: number | null;
  firstReceivedAt: string | null;
  lastReceivedAt: string | null;
  records: number;
  /** Size of the LevelDB files (the reserve file not included). */
  bytesOnDisk: number;
  /** Space set aside to recover from a full disk (see QueueOptions.reserveBytes); 0 while it is released. */
  reserveBytes: number;
  durability: 'sync' | 'grouped';
  /** 'recovering'/'down' after a write failed (disk full): appends are refused until the database reopens. */
  state: 'up' | 'recovering' | 'down';
  sinks: SinkCursorStatus[];
}

/** The durable log between acquisition and the uploaders (implemented on LevelDB in queue.ts). */
export interface TelegramLog {
  /** Stores the telegram durably (per the durability setting) before resolving. */
  append(raw: string, receivedAt?: Date): Promise<QueueRecord>;
  /** Records with seq > after, in order, at most `limit`. */
  readAfter(after: number, limit: number): Promise<QueueRecord[]>;
  /** The newest stored record (null when the log is empty): what a sink that publishes only the latest wants. */
  newest(): Promise<QueueRecord | null>;
  /** Records received in [from, to), in order, at most `limit` after `afterSeq`. */
  readRange(range: { from?: Date; to?: Date; afterSeq?: number; limit: number }): Promise<QueueRecord[]>;
  cursor(sink: string): Promise<number>;
  /** Advances the sink's cursor (never backwards) in one batch write. */
  ack(sink: string, seq: number): Promise<void>;
  park(sink: string, record: QueueRecord, reason: string): Promise<void>;
  deadLetters(sink: string): Promise<Array<DeadLetter & { record: QueueRecord }>>;
  status(): Promise<QueueStatus>;
  close(): Promise<void>;
}
