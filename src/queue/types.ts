/**
 * The kinds of frame a record can hold, as stored (record-format.ts); a new protocol is one more name here.
 * A record written by a later release with a name this one does not know is reported as unreadable, not guessed at.
 */
export const FRAME_PROTOCOLS = ['dsmr', 'dlms'] as const;
export type FrameProtocol = (typeof FRAME_PROTOCOLS)[number];

/** One stored frame: its bytes as received (the record of truth), what kind of frame it is, and when it came. */
export interface QueueRecord {
  /** Monotonic across restarts, starting at 1; never reused. */
  seq: number;
  /** ISO 8601 UTC receive time. */
  receivedAt: string;
  /**
   * 'dsmr': a DSMR text telegram (also one that came encrypted, as decrypted); 'dlms': a DLMS data-notification
   * APDU, decrypted when it came encrypted, without its HDLC or M-Bus frames. Records of the first release
   * (format v1) are all 'dsmr'.
   */
  protocol: FrameProtocol;
  /** The frame's bytes, latin1 (one char per byte, any byte value): for DSMR '/' through the CRC line end. */
  raw: string;
  /**
   * Set when the receive clock jumped after this record was stored (a Pi without real-time clock setting its time):
   * `receivedAt` is then corrected by this many ms to the clock after the jump.
   */
  clockCorrectedMs?: number;
}

/** A record a sink refused permanently (400/413/422), kept with the server's reason so it can be re-sent. */
export interface DeadLetter {
  sink: string;
  seq: number;
  reason: string;
  parkedAt: string;
}

/** Why retention removed records: too old, the files over maxBytes, the filesystem under its floor, a full disk. */
export const DROP_REASONS = ['age', 'size', 'freeSpace', 'diskFull'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

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
  /** The same, by reason (persisted since this release; `dropped` also counts what came before). */
  droppedByReason: Record<DropReason, number>;
  deadLetters: number;
  /** Dead letters by the reason the server gave (the first 200 characters of it). */
  deadLetterReasons: Record<string, number>;
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
  /** What the reserve and the free-space floor are on this filesystem (scaled to its size, see spaceBudget). */
  reserveTargetBytes: number;
  minFreeBytes: number;
  /** Writes that met a full disk since the queue opened. */
  diskFull: number;
  /** Records that could not be read (checksum failed, gone from a damaged table) since the queue opened: skipped, logged. */
  unreadable: number;
  /** What opening did about a damaged queue (null: it was whole), and damaged queues moved aside that are still there. */
  corruption: { at: string; action: 'repaired' | 'movedAside'; reason: string; movedTo: string | null } | null;
  corruptCopies: string[];
  durability: 'sync' | 'grouped';
  /** 'recovering'/'down' after a write failed (disk full): appends are refused until the database reopens. */
  state: 'up' | 'recovering' | 'down';
  sinks: SinkCursorStatus[];
}

/** The durable log between acquisition and the uploaders (implemented on LevelDB in queue.ts). */
export interface TelegramLog {
  /** Stores the telegram durably (per the durability setting) before resolving. */
  append(raw: string, receivedAt?: Date, protocol?: FrameProtocol): Promise<QueueRecord>;
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
