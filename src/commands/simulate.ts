import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { errorLine } from './error-line.js';
import { P1Error } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { meterKeysFromEnv } from '../config/meter-keys.js';
import { simulatedFrames } from '../sources/simulator.js';
import { defaultIntervalS, type SimulatedDsmr, type SimulatedMeter, type SimulatedProtocol } from '../sources/spec.js';

export interface SimulateCommandOptions {
  protocol: SimulatedProtocol;
  meter: SimulatedMeter;
  dsmr: SimulatedDsmr;
  interval?: number;
  out?: string;
  listen?: string;
  count?: number;
  seed?: number;
  fast?: boolean;
  start?: string;
  evenParity?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description("write the virtual meter's telegrams to stdout, a file or a serial device (a pty), or serve them over TCP")
    .addOption(new Option('--protocol <protocol>', 'dsmr: DSMR text; dlms: a HAN meter\'s HDLC frames; smarty: encrypted DSMR 5 (needs P1LOGGER_DECRYPTION_KEY)').choices(['dsmr', 'dlms', 'smarty']).default('dsmr'))
    .addOption(new Option('--meter <maker>', 'with --protocol dlms: whose HAN lists').choices(['kamstrup', 'aidon', 'kaifa']).default('kamstrup'))
    .addOption(new Option('--dsmr <version>', 'DSMR version of the telegrams').choices(['5', '2.2']).default('5'))
    .option('--interval <seconds>', 'seconds between telegrams (default: 1 for DSMR 5, 10 for DSMR 2.2, HAN lists and Smarty)', positiveSeconds)
    .addOption(new Option('--out <path>', 'write to this file or device (a pty from socat, a serial port) instead of stdout').conflicts('listen'))
    .option('--listen <host:port>', 'serve the telegrams to every TCP client that connects; host defaults to 127.0.0.1 (":2000" or "2000")')
    .option('-n, --count <n>', 'stop after N telegrams (default: run until Ctrl-C)', wholeNumber)
    .option('--seed <n>', 'pick the simulated household and its randomness (default: 1)', wholeNumber)
    .option('--fast', "don't wait: the meter's clock advances by the interval per telegram", false)
    .option('--start <time>', 'with --fast: the first telegram\'s time, ISO 8601 (default: now)')
    .option('--even-parity', 'set bit 7 to the even parity bit: how a 9600 7E1 (DSMR 2.2/3) meter looks on a pty', false)
    .addHelpText(
      'after',
      '\nDSMR 5 telegrams carry a valid CRC; DSMR 2.2 telegrams have none and report gas hourly on a second line.\n' +
        'Logs go to stderr (JSON lines); with --listen the first one says which port was bound (use port 0 for any free port).',
    )
    .action(async (options: SimulateCommandOptions) => {
      process.exitCode = await simulateCommand(options);
    });
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.01 || n > 3600) throw new InvalidArgumentError('expected seconds from 0.01 to 3600');
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 0xffffffff) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** "HOST:PORT", ":PORT" or "PORT"; the host defaults to loopback so a demo never exposes anything. */
export function parseListen(text: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = text;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (text.includes(':')) {
    const colon = text.lastIndexOf(':');
    if (colon > 0) host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new P1Error('P1_USAGE', `--listen "${text}": expected HOST:PORT with a port from 0 to 65535`);
  return { host, port };
}

/** Where telegrams go: stdout, a file/device, or the TCP clients. */
interface Output {
  write(bytes: Buffer, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function simulateCommand(options: SimulateCommandOptions, logger: Logger = createLogger({ destination: process.stderr })): Promise<number> {
  let startMs: number | undefined;
  if (options.start !== undefined) {
    startMs = Date.parse(options.start);
    if (Number.isNaN(startMs)) {
      process.stderr.write(`p1logger simulate: P1_USAGE: --start "${options.start}" is not an ISO 8601 time\n`);
      return 2;
    }
  }
  // Before the output opens: `listening on` tells a supervisor it may stop us, and a SIGTERM that came before
  // the handler would kill the process (no exit status) instead of ending the simulation.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let output: Output;
  try {
    output = options.listen !== undefined ? await tcpOutput(parseListen(options.listen), logger) : options.out !== undefined ? await fileOutput(options.out) : stdoutOutput();
  } catch (error) {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    process.stderr.write(`p1logger simulate: ${errorLine(error)}\n`);
    return 2;
  }

  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') stop();
  };
  process.stdout.on('error', onStdoutError);
  const intervalS = options.interval ?? (options.protocol === 'dsmr' ? defaultIntervalS(options.dsmr) : 10);
  let sent = 0;
  let status = 0;
  try {
    // Frames are encrypted with the meter key from the environment: smarty needs one, dlms takes one.
    const keys = options.protocol === 'dsmr' ? undefined : await meterKeysFromEnv();
    const telegrams = simulatedFrames(
      {
        protocol: options.protocol,
        meter: options.meter,
        ...(keys === undefined ? {} : { keys }),
        dsmr: options.dsmr,
        intervalS,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.count === undefined ? {} : { count: options.count }),
        ...(options.fast ? { fast: true } : {}),
        ...(startMs === undefined ? {} : { startMs }),
      },
      controller.signal,
    );
    for await (const bytes of telegrams) {
      await output.write(options.evenParity ? withEvenParity(bytes) : bytes, controller.signal);
      sent++;
      if (controller.signal.aborted) break;
    }
  } catch (error) {
    process.stderr.write(`p1logger simulate: ${errorLine(error)}\n`);
    status = 1;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    process.stdout.removeListener('error', onStdoutError);
    await output.close();
  }
  logger.info({ sent, dsmr: options.dsmr, intervalS }, 'simulation finished');
  return status;
}

/** Bit 7 becomes the even parity bit of the 7 data bits: 7E1 bytes as an 8N1 reader (or a pty) sees them. */
export function withEvenParity(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]! & 0x7f;
    let ones = 0;
    for (let x = b; x !== 0; x >>= 1) ones += x & 1;
    if (ones % 2 === 1) b |= 0x80;
    out[i] = b;
  }
  return out;
}

function stdoutOutput(): Output {
  return {
    async write(bytes, signal) {
      if (process.stdout.write(bytes)) return;
      await once(process.stdout, 'drain', { signal }).catch(() => undefined);
    },
    async close() {},
  };
}

/** A file, or a character device such as a pty: plain writes reach the other end as they would from a meter. */
async function fileOutput(path: string): Promise<Output> {
  const stream: WriteStream = createWriteStream(path, { flags: 'w' });
  try {
    await once(stream, 'open');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new P1Error('P1_USAGE', `cannot write to ${path}: ${code ?? String(error)}`, { cause: error });
  }
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  return {
    async write(bytes, signal) {
      if (failure) throw new P1Error('P1_USAGE', `writing to ${path} failed: ${failure.message}`, { cause: failure });
      if (stream.write(bytes)) return;
      await drainedOrFailed(stream, signal);
    },
    async close() {
      if (stream.destroyed) return;
      await new Promise<void>((resolve) => stream.end(resolve));
    },
  };
}

/**
 * Resolves at the stream's next 'drain' or 'error', or on abort, and removes all three listeners whichever comes
 * first: a race of two once() calls would leave the loser's listener behind at every wait, without bound.
 */
function drainedOrFailed(stream: WriteStream, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    signal.addEventListener('abort', done);
  });
}

/** A TCP server that sends every telegram to every client; a client that cannot keep up is dropped. */
async function tcpOutput(address: { host: string; port: number }, logger: Logger): Promise<Output> {
  const clients = new Set<Socket>();
  const server: Server = createServer((socket) => {
    clients.add(socket);
    logger.info({ client: `${socket.remoteAddress}:${socket.remotePort}`, clients: clients.size }, 'client connected');
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clients.delete(socket);
      logger.info({ clients: clients.size }, 'client disconnected');
    });
    // Clients only listen; anything they send is ignored.
    socket.resume();
  });
  server.listen(address.port, address.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new P1Error('P1_USAGE', `cannot listen on ${address.host}:${address.port}: ${code ?? String(error)}`, { cause: error });
  }
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  logger.info({ host: address.host, port }, `listening on ${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}`);
  return {
    write(bytes) {
      for (const socket of clients) {
        if (socket.writableLength > 1024 * 1024) socket.destroy();
        else socket.write(bytes);
      }
      return Promise.resolve();
    },
    async close() {
      // Flush what each client still has to receive, then hang up (clients never close a one-way feed).
      for (const socket of clients) socket.end(() => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
