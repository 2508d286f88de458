/** Connection state of a source, logged once per change and shown in status. */
export type SourceState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface SourceStats {
  state: SourceState;
  reconnects: number;
  bytes: number;
  /** Line settings in use or detected (serial), e.g. "115200 8N1 (DSMR 4/5)". */
  settings?: string;
  /** The last failure, "CODE: message", kept after recovery so status can show what happened. */
  lastError?: string;
}

/**
 * Where meter bytes come from: a serial port, a TCP stream, a capture file or the simulator.
 * `read` yields raw chunks until `signal` aborts (or, for a finite source such as a file, until the end);
 * transient failures (unplugged device, closed peer, silence) are handled inside with reconnects and backoff,
 * so the iterator only throws for errors that retrying cannot fix (a bad spec).
 */
export interface ByteSource {
  /** For logs and status: the spec without secrets. */
  readonly description: string;
  readonly stats: SourceStats;
  read(signal: AbortSignal): AsyncIterable<Buffer>;
}
