import { connect, type Socket } from 'node:net';
import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import type { BackoffPolicy } from './backoff.js';
import { readWithReconnect, type Link } from './reconnect.js';
import type { ByteSource, SourceStats } from './source.js';
import { describeSpec, type TcpSpec } from './spec.js';

export interface TcpSourceOptions {
  logger: Logger;
  silenceMs: number;
  backoff: BackoffPolicy;
  random?: () => number;
  /** How long a connection attempt may take. */
  connectTimeoutMs?: number;
}

/** A raw TCP stream of meter bytes: ser2net, or a P1 Wi-Fi/Ethernet dongle. */
export function createTcpSource(spec: TcpSpec, options: TcpSourceOptions): ByteSource {
  const description = describeSpec(spec);
  const stats: SourceStats = { state: 'closed', reconnects: 0, bytes: 0 };
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  return {
    description,
    stats,
    read(signal: AbortSignal): AsyncIterable<Buffer> {
      return readWithReconnect(
        {
          description,
          logger: options.logger,
          stats,
          backoff: options.backoff,
          ...(options.random ? { random: options.random } : {}),
          silenceMs: () => options.silenceMs,
          connect: (signal) => openTcpLink(spec, connectTimeoutMs, signal),
        },
        signal,
      );
    },
  };
}

function openTcpLink(spec: TcpSpec, timeoutMs: number, signal: AbortSignal): Promise<Link> {
  const where = describeSpec(spec).slice('tcp:'.length);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: spec.host, port: spec.port });
    const fail = (error: P1Error): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    };
    // Stopping must not wait for a connection attempt to a host that does not answer.
    const onAbort = (): void => fail(new P1Error('P1_SOURCE_CLOSED', `connecting to ${where} was cancelled`));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => fail(new P1Error('P1_SOURCE_UNAVAILABLE', `no answer from ${where} within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => fail(classifyTcpError(where, error)));
    socket.once('connect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      // A dongle that loses power sends no FIN; keepalive (and the silence watchdog) notice.
      socket.setKeepAlive(true, 10_000);
      resolve(tcpLink(socket, where));
    });
  });
}

function tcpLink(socket: Socket, where: string): Link {
  return {
    start(handlers) {
      socket.on('data', (chunk: Buffer) => handlers.data(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        handlers.end(new P1Error('P1_SOURCE_CLOSED', `connection to ${where} failed (${error.code ?? error.message})`, { cause: error })),
      );
      socket.on('close', () => handlers.end(new P1Error('P1_SOURCE_CLOSED', `${where} closed the connection`)));
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => {
      socket.destroy();
    },
  };
}

/** Pure: why a connection attempt failed, in words that point at the fix. */
export function classifyTcpError(where: string, error: NodeJS.ErrnoException): P1Error {
  const code = error.code ?? '';
  const reasons: Record<string, string> = {
    ECONNREFUSED: `${where} refused the connection (is ser2net or the P1 dongle listening on that port?)`,
    ENOTFOUND: `host of ${where} not found (check the name, or use its IP address)`,
    EAI_AGAIN: `host of ${where} could not be resolved right now (DNS)`,
    EHOSTUNREACH: `${where} is unreachable (network down, or the dongle is off)`,
    ENETUNREACH: `${where} is unreachable (no network)`,
    ETIMEDOUT: `no answer from ${where} (timed out)`,
    ECONNRESET: `${where} reset the connection`,
  };
  return new P1Error('P1_SOURCE_UNAVAILABLE', reasons[code] ?? `cannot connect to ${where}: ${code || error.message}`, { cause: error });
}
