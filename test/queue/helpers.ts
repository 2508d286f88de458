import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ByteSource } from '../../src/sources/source.js';
import { crc16OfText, formatCrc } from '../../src/telegram/crc16.js';

/**
 * A valid DSMR 5 telegram (CRLF, real CRC) whose readings depend on `i`, so every one is different; `padding`
 * adds a text message to make it bigger. Bytes above 0x7f in the message check that raw text survives as latin1.
 */
export function makeTelegram(i: number, padding = 0): string {
  const t = new Date(Date.UTC(2024, 0, 1) + i * 1000);
  const stamp = `${String(t.getUTCFullYear() % 100).padStart(2, '0')}${pad2(t.getUTCMonth() + 1)}${pad2(t.getUTCDate())}${pad2(t.getUTCHours())}${pad2(t.getUTCMinutes())}${pad2(t.getUTCSeconds())}W`;
  const lines = [
    '/ISk5\\2MT382-1000',
    '',
    '1-3:0.2.8(50)',
    `0-0:1.0.0(${stamp})`,
    '0-0:96.1.1(4B384547303034303436333935353037)',
    `1-0:1.8.1(${(1000 + i * 0.001).toFixed(3).padStart(10, '0')}*kWh)`,
    `1-0:1.8.2(${(2000 + i * 0.002).toFixed(3).padStart(10, '0')}*kWh)`,
    '1-0:2.8.1(000002.444*kWh)',
    '1-0:2.8.2(000000.000*kWh)',
    '0-0:96.14.0(0002)',
    `1-0:1.7.0(${((i % 5000) / 1000).toFixed(3).padStart(6, '0')}*kW)`,
    '1-0:2.7.0(00.000*kW)',
    `1-0:32.7.0(${(225 + (i % 100) / 10).toFixed(1).padStart(6, '0')}*V)`,
    `1-0:31.7.0(${String(i % 100).padStart(3, '0')}*A)`,
    `0-0:96.13.0(${Buffer.from(`msg ${i} \xe9${'x'.repeat(padding)}`, 'latin1').toString('hex').toUpperCase()})`,
    '0-1:24.1.0(003)',
    '0-1:96.1.0(3232323241424344313233343536373839)',
    `0-1:24.2.1(${stamp})(${(100 + i * 0.0001).toFixed(3).padStart(9, '0')}*m3)`,
    '!',
  ];
  const body = lines.join('\r\n');
  return `${body}${formatCrc(crc16OfText(body))}\r\n`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'p1logger-queue-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'p1logger-queue-'));
}

/** A meter whose bytes the test hands over when it likes (`push`); silent in between, ends when the service stops. */
export function pushSource(): { source: ByteSource; push(chunks: Buffer[]): void } {
  const waiting: Buffer[] = [];
  let wake: (() => void) | undefined;
  return {
    source: {
      description: 'test meter',
      stats: { state: 'open', reconnects: 0, bytes: 0 },
      async *read(signal: AbortSignal) {
        signal.addEventListener('abort', () => wake?.(), { once: true });
        while (!signal.aborted) {
          const chunk = waiting.shift();
          if (chunk !== undefined) yield chunk;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    },
    push(chunks) {
      waiting.push(...chunks);
      wake?.();
    },
  };
}
