import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { BoundedClient } from '../net/bounded-client.js';
import type { LiveSource } from './live.js';

/** Browsers keep one connection per open tab; a few dozen is plenty for a household. */
export const LIVE_MAX_CLIENTS = 32;
/** What may wait for one tab: some 600 events, minutes of a DSMR 5 meter. */
export const LIVE_MAX_BUFFERED_BYTES = 64 * 1024;
/** Events skipped in a row (the tab is not reading) before it is dropped; the page reconnects by itself. */
const LIVE_MAX_SKIPPED = 30;
const HEARTBEAT_MS = 15_000;

export interface LiveClientStats {
  clients: number;
  /** Clients dropped since start because they did not read. */
  dropped: number;
  /** Bytes waiting in p1logger for the clients now. */
  bufferedBytes: number;
}

/**
 * The server-sent events of `/api/live`: each telegram's power point, to every open page. A page that stops reading
 * is skipped, then dropped (BoundedClient), so it can neither grow p1logger's memory nor slow the others.
 */
export class LiveStream {
  private readonly clients = new Map<ServerResponse, BoundedClient>();
  private dropped = 0;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    source: LiveSource,
    private readonly options: { logger: Logger; headers: OutgoingHttpHeaders },
  ) {
    this.unsubscribe = source.subscribe((point) => this.broadcast(`event: power\ndata: ${JSON.stringify(point)}\n\n`));
    // Proxies and browsers close a stream that says nothing for long.
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Serves one client until it goes away; false (nothing written) when there are too many. */
  accept(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= LIVE_MAX_CLIENTS) return false;
    res.writeHead(200, { ...this.options.headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    const client = new BoundedClient(res, {
      maxBufferedBytes: LIVE_MAX_BUFFERED_BYTES,
      maxSkipped: LIVE_MAX_SKIPPED,
      onDrop: (c) => {
        this.dropped++;
        this.options.logger.warn({ remote: req.socket.remoteAddress, bufferedBytes: c.bufferedBytes, skipped: c.skipped }, 'live graph client dropped: it stopped reading');
      },
    });
    this.clients.set(res, client);
    const done = (): void => {
      this.clients.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
    return true;
  }

  stats(): LiveClientStats {
    let bufferedBytes = 0;
    for (const client of this.clients.values()) bufferedBytes += client.bufferedBytes;
    return { clients: this.clients.size, dropped: this.dropped, bufferedBytes };
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }

  private broadcast(message: string): void {
    for (const client of this.clients.values()) client.send(message);
  }
}
