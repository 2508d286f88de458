import { createServer, type Server, type Socket } from 'node:net';
import { parseListen, type ListenAddress } from '../config/listen.js';
import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import { RepeatedLog } from '../log/repeated.js';
import { BoundedClient } from '../net/bounded-client.js';
import { listenOn } from '../net/listen.js';

/**
 * What may wait in p1logger for one relay client: some 250 DSMR 5 telegrams (minutes), on top of what the kernel's
 * socket buffers hold. A client further behind is disconnected: a telegram stream must not have holes.
 */
export const RELAY_MAX_BUFFERED_BYTES = 256 * 1024;
/** Connect, disconnect and drop lines: a client retrying in a loop is summarised like any repeated event. */
const CLIENT_LOG_SUMMARY_MS = 60_000;

export interface RelayOptions {
  /** `HOST:PORT` as configured (relay.listen); port 0 picks a free one. */
  listen: string | ListenAddress;
  /** Clients served at once (relay.maxClients); more are closed at once. */
  maxClients: number;
  logger: Logger;
}

/** The relay on /api/status and /metrics. */
export interface RelayStats {
  /** `host:port` bound (null before start). */
  listen: string | null;
  clients: number;
  maxClients: number;
  /** Clients accepted since start. */
  connections: number;
  /** Connections closed at once because maxClients were connected. */
  refused: number;
  /** Clients disconnected because they fell behind. */
  dropped: number;
  /** Telegrams given to the relay (whether or not a client was connected). */
  telegrams: number;
  /** Bytes written to clients. */
  bytes: number;
  /** Bytes waiting in p1logger for the clients now (each at most RELAY_MAX_BUFFERED_BYTES). */
  bufferedBytes: number;
}

/**
 * The P1 relay: every telegram stored (fed from the service's onStored), byte for byte as received, to each TCP
 * client, as ser2net would serve the meter itself. A consumer of stored telegrams beside the uploaders, not part of
 * acquisition: writes never wait, each client has a bounded buffer (BoundedClient) and is disconnected when it
 * falls behind, so no client can slow the meter or the queue or grow p1logger's memory. Data from clients is
 * read and ignored (the meter is not theirs to talk to).
 */
export class Relay {
  readonly name = 'relay';
  private readonly address: ListenAddress;
  private readonly clients = new Map<Socket, BoundedClient>();
  private readonly clientLog: RepeatedLog;
  private server: Server | undefined;
  private bound: string | null = null;
  private readonly counts = { connections: 0, refused: 0, dropped: 0, telegrams: 0, bytes: 0 };

  constructor(private readonly options: RelayOptions) {
    const address = typeof options.listen === 'string' ? parseListen(options.listen) : options.listen;
    if (address === null) throw new P1Error('P1_CONFIG_INVALID', `relay.listen: ${JSON.stringify(options.listen)} is not HOST:PORT`);
    this.address = address;
    this.clientLog = new RepeatedLog({ logger: options.logger, summaryMs: CLIENT_LOG_SUMMARY_MS });
  }

  /** Listens; throws P1_RELAY_LISTEN when the address cannot be bound. */
  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    const bound = await listenOn(server, this.address, 'P1_RELAY_LISTEN', 'relay.listen / P1LOGGER_RELAY_LISTEN');
    server.on('error', (error) => this.options.logger.error({ err: error }, 'relay server error'));
    this.server = server;
    this.bound = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    this.options.logger.info({ listen: this.bound, maxClients: this.options.maxClients }, `P1 relay listening on tcp:${this.bound}`);
  }

  /** The port bound (for port 0), once started. */
  get port(): number | null {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address.port : null;
  }

  /** One stored telegram (latin1: one char per byte, as the queue keeps it) to every client. Never waits. */
  publish(raw: string): void {
    this.counts.telegrams++;
    if (this.clients.size === 0) return;
    const bytes = Buffer.from(raw, 'latin1');
    for (const client of this.clients.values()) {
      if (client.send(bytes) === 'sent') this.counts.bytes += bytes.length;
    }
  }

  stats(): RelayStats {
    let bufferedBytes = 0;
    for (const client of this.clients.values()) bufferedBytes += client.bufferedBytes;
    return { listen: this.bound, clients: this.clients.size, maxClients: this.options.maxClients, ...this.counts, bufferedBytes };
  }

  /** Disconnects every client and stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.clients.keys()) socket.destroy();
    this.clients.clear();
    this.clientLog.flush();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.on('error', () => undefined);
    if (this.server === undefined || this.clients.size >= this.options.maxClients) {
      this.counts.refused++;
      this.clientLog.log('warn', 'refused', { remote, maxClients: this.options.maxClients }, `relay: ${remote} refused, ${this.options.maxClients} clients (relay.maxClients) are connected`);
      socket.destroy();
      return;
    }
    this.counts.connections++;
    // A client that vanished without a FIN (powered off) is found by keepalive, or when its buffer fills.
    socket.setKeepAlive(true, 30_000);
    const client = new BoundedClient(socket, {
      maxBufferedBytes: RELAY_MAX_BUFFERED_BYTES,
      maxSkipped: 0,
      onDrop: (c) => {
        this.counts.dropped++;
        this.clientLog.log('warn', 'dropped', { remote, bufferedBytes: c.bufferedBytes, bytes: c.bytesSent }, `relay: ${remote} fell behind (${c.bufferedBytes} bytes waiting); disconnected`);
      },
    });
    this.clients.set(socket, client);
    socket.on('close', () => {
      if (!this.clients.delete(socket) || client.dropped) return;
      this.clientLog.log('info', 'disconnected', { remote, bytes: client.bytesSent, clients: this.clients.size }, `relay: ${remote} disconnected`);
    });
    // What a client sends is read and dropped, so it cannot fill a buffer either.
    socket.resume();
    this.clientLog.log('info', 'connected', { remote, clients: this.clients.size }, `relay: ${remote} connected`);
  }
}
