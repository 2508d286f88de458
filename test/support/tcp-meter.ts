import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * A stand-in for ser2net or a P1 Wi-Fi dongle on 127.0.0.1: sends what the test gives it to every client,
 * and can hang up on them, fall silent, stop listening and come back on the same port.
 */
export class TcpMeter {
  readonly clients = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;
  private server: Server | undefined;
  private feeder: NodeJS.Timeout | undefined;

  private constructor(public port: number) {}

  static async start(port = 0): Promise<TcpMeter> {
    const meter = new TcpMeter(port);
    await meter.listen();
    return meter;
  }

  async listen(): Promise<void> {
    const server = createServer((socket) => {
      this.connections++;
      this.clients.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.clients.delete(socket));
      socket.resume();
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
    this.server = server;
  }

  send(bytes: Buffer | string): void {
    for (const socket of this.clients) socket.write(bytes);
  }

  /** Sends `next()` to all clients every `everyMs` until stopFeeding(): a meter behind a dongle. */
  feed(next: () => Buffer | string, everyMs: number): void {
    this.stopFeeding();
    this.feeder = setInterval(() => this.send(next()), everyMs);
  }

  stopFeeding(): void {
    clearInterval(this.feeder);
    this.feeder = undefined;
  }

  /** Hangs up on every client (they see a FIN), but keeps listening. */
  hangUp(): void {
    for (const socket of this.clients) socket.destroy();
  }

  /** Stops listening and drops clients: connections are refused until listen() again. */
  async close(): Promise<void> {
    this.stopFeeding();
    this.hangUp();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
