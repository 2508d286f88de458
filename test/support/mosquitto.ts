import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { ChildServer, ServerInDirectory } from './child-server.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface MosquittoOptions {
  /** Users of a password file (mosquitto_passwd); anonymous clients are refused when given. */
  users?: Record<string, string>;
  /** Also a TLS listener, with a certificate for 127.0.0.1 signed by a CA made here with openssl. */
  tls?: boolean;
  /** QoS 1 messages in flight per client (0: no limit, the default); MQTT 5 clients get it as Receive Maximum. */
  maxInflight?: number;
  /** Packets larger than this are refused; MQTT 5 clients get it as Maximum Packet Size. */
  maxPacketSize?: number;
}

/**
 * A real Mosquitto (Debian's `mosquitto`) on 127.0.0.1 at a free port, with its config, password file, TLS
 * material and persistence in a temp dir: started per test file, killed and started again on the same port and
 * data for outage tests. Persistence is on and saved only when asked (SIGUSR1), so a SIGKILL loses exactly what a
 * crashed broker loses; offline sessions keep every message (QoS 0 too, no queue limit), so a subscriber with a
 * saved session misses nothing while it reconnects.
 */
export class Mosquitto extends ServerInDirectory {
  readonly url: string;
  /** `mqtts://127.0.0.1:PORT` when started with tls. */
  readonly tlsUrl: string | undefined;
  /** PEM of the CA that signed the TLS listener's certificate. */
  readonly caPem: string | undefined;

  private constructor(dir: string, port: number, tlsPort: number | undefined, caPem: string | undefined, server: ChildServer) {
    super(dir, port, server);
    this.url = `mqtt://127.0.0.1:${port}`;
    this.tlsUrl = tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`;
    this.caPem = caPem;
  }

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'p1logger-mosquitto-'));
    try {
      const port = await freePort();
      const lines = [
        `listener ${port} 127.0.0.1`,
        'persistence true',
        `persistence_location ${dir}/`,
        'autosave_interval 0',
        'max_queued_messages 0',
        'queue_qos0_messages true',
        `max_inflight_messages ${options.maxInflight ?? 0}`,
        ...(options.maxPacketSize === undefined ? [] : [`max_packet_size ${options.maxPacketSize}`]),
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        // Root in containers and CI machines: mosquitto would otherwise switch to its own user and lose the temp dir.
        `user ${userInfo().username}`,
      ];
      if (options.users !== undefined) {
        const passwords = join(dir, 'passwords');
        await writeFile(passwords, '', { mode: 0o600 });
        for (const [user, password] of Object.entries(options.users)) await run('mosquitto_passwd', ['-b', passwords, user, password]);
        lines.push('allow_anonymous false', `password_file ${passwords}`);
      } else {
        lines.push('allow_anonymous true');
      }
      let tlsPort: number | undefined;
      let caPem: string | undefined;
      if (options.tls === true) {
        tlsPort = await freePort();
        caPem = await makeCertificates(dir);
        lines.push(`listener ${tlsPort} 127.0.0.1`, `cafile ${dir}/ca.pem`, `certfile ${dir}/server.pem`, `keyfile ${dir}/server.key`);
      }
      const config = join(dir, 'mosquitto.conf');
      await writeFile(config, lines.join('\n') + '\n');
      const server = new ChildServer('mosquitto', ['-c', config], () => listening(port), 'mosquitto');
      await server.start();
      return new Mosquitto(dir, port, tlsPort, caPem, server);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Writes the persistence file now (SIGUSR1) and waits until it has. */
  async save(): Promise<void> {
    const file = join(this.dir, 'mosquitto.db');
    const before = await readFile(file).catch(() => undefined);
    process.kill(this.pid!, 'SIGUSR1');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const now = await readFile(file).catch(() => undefined);
      if (now !== undefined && (before === undefined || !now.equals(before))) return;
      if (Date.now() > deadline) throw new Error('mosquitto did not save its persistence file');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A CA and a server certificate for 127.0.0.1 / localhost signed by it; returns the CA's PEM. */
async function makeCertificates(dir: string): Promise<string> {
  const at = (name: string): string => join(dir, name);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=p1logger test CA', '-keyout', at('ca.key'), '-out', at('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', at('server.key'), '-out', at('server.csr')]);
  await writeFile(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', at('san.ext'), '-out', at('server.pem')]);
  return readFile(at('ca.pem'), 'utf8');
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/**
 * A client of the test that reads what arrived: every message on the topics it subscribed, in arrival order.
 * With a `clientId` and `clean: false` it keeps its session on the broker across its own reconnects.
 */
export class Subscriber {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Subscriber> {
    const client = await connectAsync(url, { reconnectPeriod: 100, connectTimeout: 10_000, ...options });
    const subscriber = new Subscriber(client);
    await client.subscribeAsync(topics, { qos: 0 });
    return subscriber;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Waits until `done` holds for what arrived (checked on each message), at most timeoutMs. */
  async until(done: (messages: readonly Received[]) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`subscriber: condition not met within ${timeoutMs} ms (${this.messages.length} messages arrived)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * The retained messages on topics matching `filter`, as a fresh subscriber sees them. The broker sends them while
 * it handles the SUBSCRIBE, so a marker published after it arrives after all of them.
 */
export async function retained(url: string, filter: string, options: IClientOptions = {}): Promise<Map<string, string>> {
  const marker = `p1logger-test/marker/${process.pid}/${Math.random().toString(36).slice(2)}`;
  const subscriber = await Subscriber.connect(url, [filter, marker], { reconnectPeriod: 0, ...options });
  try {
    await subscriber.client.publishAsync(marker, 'end', { qos: 1 });
    await subscriber.until((messages) => messages.some((m) => m.topic === marker));
    return new Map(subscriber.messages.filter((m) => m.retain && m.topic !== marker).map((m) => [m.topic, m.payload]));
  } finally {
    await subscriber.close();
  }
}
