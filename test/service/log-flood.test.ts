import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTelegram } from '../queue/helpers.js';

const MB = 1024 * 1024;
const TOTAL_MB = 100;
/** Good telegrams hidden in the junk: junk never stops the stream. */
const GOOD_PER_MB = 2;

/**
 * One MB of what a broken cable, a wrong baud rate and a noisy line send: random bytes (with stray '/' that start
 * telegrams that never end, and 0xAF that look like 7E1 start bytes), runs of 0xAF, telegrams with a wrong CRC,
 * and `GOOD_PER_MB` valid telegrams. Seeded, so every run frames the same events.
 */
function junkBlock(block: number): Buffer {
  let seed = 0x9e3779b9 ^ block;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const parts: Buffer[] = [];
  let size = 0;
  const add = (part: Buffer): void => {
    parts.push(part);
    size += part.length;
  };
  let good = 0;
  for (let i = 0; size < MB - 8192; i++) {
    const noise = Buffer.alloc(2048 + Math.floor(random() * 4096));
    for (let j = 0; j < noise.length; j++) noise[j] = Math.floor(random() * 256);
    add(noise);
    if (i % 7 === 0) add(Buffer.alloc(64, 0xaf));
    const telegram = makeTelegram(block * 1000 + i);
    if (i % 3 === 0 && good < GOOD_PER_MB) {
      add(Buffer.from(telegram, 'latin1'));
      good++;
    } else {
      // The same telegram with its CRC digits changed: a rejected telegram.
      add(Buffer.from(telegram.replace(/!([0-9A-F]{4})\r\n$/, (_, crc: string) => `!${crc === '0000' ? 'FFFF' : '0000'}\r\n`), 'latin1'));
    }
  }
  return Buffer.concat(parts, size).subarray(0, MB);
}

interface LogLine {
  level: number;
  msg: string;
  repeats?: number;
  truncated?: number;
  invalid?: number;
  crcErrors?: number;
  stored?: number;
}

describe('p1logger run on a stream of junk', () => {
  let dir: string;
  let capture: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p1logger-flood-'));
    capture = join(dir, 'junk.bin');
    const file = await open(capture, 'w');
    try {
      for (let b = 0; b < TOTAL_MB; b++) await file.write(junkBlock(b));
    } finally {
      await file.close();
    }
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('100 MB of junk writes a few hundred log lines at most, and their counts add up to the counters', async () => {
    const result = await runCli(['run', '--source', `file:${capture}`, '--data-dir', join(dir, 'data')], {
      env: { ...process.env, P1LOGGER_LOG_LEVEL: 'info', P1LOGGER_HTTP_ENABLED: 'false' },
      timeoutMs: 180_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeLessThanOrEqual(300);
    const logged = lines.map((l) => JSON.parse(l) as LogLine);
    const stopped = logged.find((l) => l.msg === 'stopped');
    expect(stopped).toBeDefined();
    // The junk was there to be reported, and every good telegram in it was still stored: a false start in the noise
    // is rescanned from its next start byte, and parity is decided per telegram, never by the bytes around it.
    expect(stopped!.truncated).toBeGreaterThan(100);
    expect(stopped!.crcErrors).toBeGreaterThan(10_000);
    expect(stopped!.stored).toBe(GOOD_PER_MB * TOTAL_MB);
    // Nothing is hidden: the first line of each kind plus the repeats its summaries count is the counter.
    const said = (msg: string): number => logged.filter((l) => l.msg.startsWith(msg)).reduce((n, l) => n + (l.repeats ?? 1), 0);
    expect(logged.some((l) => l.msg.startsWith('truncated telegram dropped') && l.repeats !== undefined)).toBe(true);
    expect(said('truncated telegram dropped')).toBe(stopped!.truncated);
    expect(said('telegram rejected')).toBe(stopped!.crcErrors! + stopped!.invalid!);
  });
});
