import { stat } from 'node:fs/promises';
import type { SerialPort as SerialPortType } from 'serialport';
import { P1Error } from '../errors.js';
import type { Logger } from '../log.js';
import type { BackoffPolicy } from './backoff.js';
import { classifyPortError, notSerialError } from './port-errors.js';
import { readWithReconnect, type Link } from './reconnect.js';
import type { ByteSource, SourceStats } from './source.js';
import {
  AUTO_SETTINGS,
  DSMR223_SETTINGS,
  describeSettings,
  describeSpec,
  type RequestLine,
  type SerialSettings,
  type SerialSpec,
} from './spec.js';

/**
 * The only module that talks to serialport. It is loaded on first use: its native binding costs ~15 MB of RSS,
 * which a logger reading TCP or the simulator should not pay.
 */
let serialportModule: Promise<typeof import('serialport')> | undefined;
function loadSerialport(): Promise<typeof import('serialport')> {
  serialportModule ??= import('serialport');
  return serialportModule;
}

export interface SerialSourceOptions {
  logger: Logger;
  silenceMs: number;
  backoff: BackoffPolicy;
  random?: () => number;
  /**
   * While auto-detecting, how long one setting may stay without a telegram before the other is tried. A DSMR 2.2/3
   * meter sends every 10 s, so 12 s sees a whole telegram whatever the phase. Capped by silenceMs.
   */
  detectMs?: number;
}

const DEFAULT_DETECT_MS = 12_000;
/** How often an open port's device node is checked for still being there. */
const PRESENCE_CHECK_MS = 1000;

/**
 * A meter on a serial port (USB adapter). `settings: 'auto'` opens 115200 8N1 (DSMR 4/5), 9600 7E1 (DSMR 2.2/3),
 * 2400 8E1 and 2400 8N1 (HAN adapters for DLMS meters), in turn, until a valid frame arrives; from then on the found
 * settings are kept.
 */
export function createSerialSource(spec: SerialSpec, options: SerialSourceOptions): ByteSource {
  const description = describeSpec(spec);
  const { logger } = options;
  const stats: SourceStats = { state: 'closed', reconnects: 0, bytes: 0 };
  const auto = spec.settings === 'auto';
  let candidates: readonly SerialSettings[] = spec.settings === 'auto' ? AUTO_SETTINGS[spec.protocol] : [spec.settings];
  let index = 0;
  let locked = !auto;
  let cycles = 0;
  let current: SerialSettings = candidates[0]!;
  let requestWarned = false;
  stats.settings = auto ? 'auto' : describeSettings(current);
  const detectMs = Math.min(options.silenceMs, options.detectMs ?? DEFAULT_DETECT_MS);

  return {
    description,
    stats,
    read(signal: AbortSignal): AsyncIterable<Buffer> {
      return readWithReconnect(
        {
          description,
          logger,
          stats,
          backoff: options.backoff,
          ...(options.random ? { random: options.random } : {}),
          silenceMs: () => (locked ? options.silenceMs : detectMs),
          connect: async () => {
            current = candidates[index]!;
            if (!locked) stats.settings = `auto: trying ${describeSettings(current)}`;
            return openSerialLink(spec.path, current, spec.request, (message) => {
              // A pty or an adapter without modem lines cannot raise DTR; say so once, then read anyway.
              if (requestWarned) return;
              requestWarned = true;
              logger.warn({ source: description }, `${description}: ${message}; reading anyway`);
            });
          },
          onTelegram: ({ parityHint }) => {
            if (locked) return;
            locked = true;
            // On a real line only the right settings give a valid frame; a pty ignores them, and then the
            // parity bit on the bytes is what tells a 7E1 meter apart.
            const found = parityHint ? DSMR223_SETTINGS : current;
            candidates = [found];
            index = 0;
            stats.settings = describeSettings(found);
            logger.info({ source: description, settings: stats.settings }, `${description}: found a meter at ${describeSettings(found)}`);
          },
          onSilence: () => {
            if (locked) return 'backoff';
            index = (index + 1) % candidates.length;
            if (index === 0) cycles++;
            const next = `no telegram yet; trying ${describeSettings(candidates[index]!)}`;
            if (cycles === 0) logger.info({ source: description }, `${description}: ${next}`);
            else logger.debug({ source: description }, `${description}: ${next}`);
            return index === 0 ? 'backoff' : 'now';
          },
        },
        signal,
      );
    },
  };
}

async function openSerialLink(
  path: string,
  settings: SerialSettings,
  request: RequestLine,
  onRequestFailed: (message: string) => void,
): Promise<Link> {
  // serialport's own message for a regular file is about baud rates; stat gives a clearer one first.
  try {
    const info = await stat(path);
    if (info.isFile()) throw notSerialError(path, 'a regular file');
    if (info.isDirectory()) throw notSerialError(path, 'a directory');
    if (!info.isCharacterDevice()) throw notSerialError(path, 'not a character device');
  } catch (error) {
    throw classifyPortError(path, error);
  }
  const { SerialPort } = await loadSerialport();
  const port: SerialPortType = new SerialPort({
    path,
    baudRate: settings.baudRate,
    dataBits: settings.dataBits,
    parity: settings.parity,
    stopBits: settings.stopBits,
    autoOpen: false,
  });
  // Errors are reported through the link's end; an 'error' event without a listener would crash the process.
  port.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    port.open((error) => (error ? reject(classifyPortError(path, error)) : resolve()));
  });
  if (request !== 'none') {
    // The request line stays asserted for as long as the port is open: the meter sends while it is high.
    const flags = request === 'dtr' ? { dtr: true, rts: false } : { dtr: false, rts: true };
    await new Promise<void>((resolve) => {
      port.set(flags, (error) => {
        if (error) onRequestFailed(`cannot raise ${request.toUpperCase()} on ${path} (${error.message.replace(/^Error: /, '')})`);
        resolve();
      });
    });
  }
  let closed = false;
  let presence: NodeJS.Timeout | undefined;
  const device = await stat(path).catch(() => undefined);
  return {
    start(handlers) {
      // serialport now and then misses a hang-up; udev removes /dev/ttyUSB0 on unplug, so its absence is proof.
      presence = setInterval(() => {
        stat(path).then(
          (now) => {
            if (device !== undefined && now.rdev !== device.rdev) handlers.end(new P1Error('P1_SOURCE_CLOSED', `${path} now names another device`));
          },
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT' || error.code === 'ENODEV') handlers.end(new P1Error('P1_SOURCE_CLOSED', `${path} disappeared (unplugged?)`));
          },
        );
      }, PRESENCE_CHECK_MS);
      port.on('data', (chunk: Buffer) => handlers.data(chunk));
      port.on('close', (error: Error | null) => {
        const why = error ? `${path} disconnected (${error.message})` : `${path} was closed`;
        handlers.end(new P1Error('P1_SOURCE_CLOSED', why, error ? { cause: error } : {}));
      });
      port.on('error', (error: Error) => handlers.end(new P1Error('P1_SOURCE_CLOSED', `${path}: ${error.message}`, { cause: error })));
    },
    pause: () => port.pause(),
    resume: () => port.resume(),
    close() {
      if (closed) return;
      closed = true;
      clearInterval(presence);
      port.removeAllListeners('data');
      if (port.isOpen) port.close(() => undefined);
    },
  };
}

export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  pnpId?: string;
}

/** The serial ports the system knows (udev on Linux), with USB ids where there are any. */
export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  const { SerialPort } = await loadSerialport();
  const ports = await SerialPort.list();
  return ports.map((p) => {
    const info: SerialPortInfo = { path: p.path };
    if (p.manufacturer !== undefined) info.manufacturer = p.manufacturer;
    if (p.serialNumber !== undefined) info.serialNumber = p.serialNumber;
    if (p.vendorId !== undefined) info.vendorId = p.vendorId;
    if (p.productId !== undefined) info.productId = p.productId;
    if (p.pnpId !== undefined) info.pnpId = p.pnpId;
    return info;
  });
}
