import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A TCP relay on 127.0.0.1 between one MQTT client and a real broker that reads the packets going both ways, to
 * see what the client does: how many QoS 1 PUBLISHes it has out without their PUBACK (as the client sees it: a
 * PUBACK counts once passed on to it), and the most it ever had. `holdAcks` keeps what the broker sends back from
 * the client (the broker's answers are delayed, not lost, until it is set false). When either side closes, the
 * other is closed too, and what was held is dropped with it.
 */
export class MqttProxy {
  /** QoS 1 PUBLISHes the client sent. */
  published = 0;
  /** The most QoS 1 PUBLISHes the client had without their PUBACK. */
  maxOutstanding = 0;
  private outstanding = 0;
  private hold = false;
  private held: Buffer[] = [];
  private toClient: ((chunk: Buffer) => void) | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(brokerPort: number, protocolVersion: 4 | 5): Promise<MqttProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const proxy = new MqttProxy(server, `mqtt://127.0.0.1:${address.port}`);
    server.on('connection', (client) => proxy.relay(client, brokerPort, protocolVersion));
    return proxy;
  }

  set holdAcks(hold: boolean) {
    this.hold = hold;
    if (!hold) for (const chunk of this.held.splice(0)) this.toClient?.(chunk);
  }

  private relay(client: Socket, brokerPort: number, protocolVersion: 4 | 5): void {
    const broker = connectTcp(brokerPort, '127.0.0.1');
    for (const socket of [client, broker]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        broker.destroy();
        this.held = [];
        this.outstanding = 0;
      });
    }
    const fromClient = mqttPacket.parser({ protocolVersion });
    fromClient.on('packet', (packet) => {
      if (packet.cmd === 'publish' && packet.qos === 1) {
        this.published++;
        this.outstanding++;
        this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
      }
    });
    client.on('data', (chunk) => {
      fromClient.parse(chunk);
      broker.write(chunk);
    });
    // Split at packet bounds, so that PUBACKs are counted as they are passed on, held or not.
    const fromBroker = mqttPacket.parser({ protocolVersion });
    fromBroker.on('packet', (packet) => {
      const bytes = mqttPacket.generate(packet, { protocolVersion });
      if (this.hold && packet.cmd === 'puback') this.held.push(bytes);
      else this.toClient?.(bytes);
    });
    this.toClient = (bytes) => {
      if (bytes[0]! >> 4 === 4) this.outstanding--;
      client.write(bytes);
    };
    broker.on('data', (chunk) => fromBroker.parse(chunk));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
