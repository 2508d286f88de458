import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isP1Error } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { openSource } from '../../src/sources/open.js';
import { VirtualMeter } from '../../src/sources/virtual-meter.js';
import { SourceReader } from './read-events.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p1logger-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file source', () => {
  it('fast: hands over the whole capture, then ends', async () => {
    const meter = new VirtualMeter({ dsmr: '5', seed: 2, startMs: Date.UTC(2024, 3, 1) });
    const capture = Array.from({ length: 500 }, (_, i) => meter.telegramAt(Date.UTC(2024, 3, 1) + i * 1000)).join('');
    const path = join(dir, 'fast.txt');
    await writeFile(path, capture, 'latin1');
    const reader = new SourceReader(openSource(`file:${path}`, { logger: silentLogger() }));
    await reader.done;
    expect(reader.error).toBeUndefined();
    expect(reader.telegrams.length).toBe(500);
    expect(reader.telegrams.map((t) => t.raw).join('')).toBe(capture);
    expect(reader.source.stats).toMatchObject({ state: 'closed', bytes: Buffer.byteLength(capture, 'latin1') });
  });

  it('realtime: one telegram per meter interval', async () => {
    const start = Date.UTC(2024, 3, 1, 10);
    const meter = new VirtualMeter({ dsmr: '5', seed: 2, startMs: start });
    const capture = [0, 1, 2].map((s) => meter.telegramAt(start + s * 1000)).join('');
    const path = join(dir, 'realtime.txt');
    await writeFile(path, capture, 'latin1');
    const reader = new SourceReader(openSource(`file:${path}?rate=realtime`, { logger: silentLogger() }));
    const began = Date.now();
    const seen: number[] = [];
    const timer = setInterval(() => {
      if (reader.telegrams.length > seen.length) seen.push(Date.now() - began);
    }, 10);
    await reader.done;
    clearInterval(timer);
    const elapsed = Date.now() - began;
    expect(reader.telegrams.length).toBe(3);
    // Two gaps of a second each; generous upper bound for a busy machine.
    expect(elapsed).toBeGreaterThanOrEqual(1950);
    expect(elapsed).toBeLessThan(6000);
    expect(seen[0]!).toBeLessThan(900);
  });

  it('realtime: stops promptly when aborted between telegrams', async () => {
    const v22 = readFileSync(new URL('../fixtures/telegrams/V2_2.txt', import.meta.url));
    const path = join(dir, 'slow.txt');
    await writeFile(path, Buffer.concat([v22, v22, v22]));
    const reader = new SourceReader(openSource(`file:${path}?rate=realtime`, { logger: silentLogger() }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const began = Date.now();
    await reader.stop();
    expect(Date.now() - began).toBeLessThan(3000); // not the 10 s until the next telegram
    expect(reader.telegrams.length).toBe(1);
  });

  it('a missing file is an error the iterator throws (retrying would not help)', async () => {
    const reader = new SourceReader(openSource(`file:${join(dir, 'nope.txt')}`, { logger: silentLogger() }));
    await reader.done;
    expect(isP1Error(reader.error, 'P1_FILE_NOT_FOUND')).toBe(true);
    expect((reader.error as Error).message).toContain('nope.txt');
  });
});

describe('openSource', () => {
  it('refuses a bad spec at once, with P1_SOURCE_SPEC', () => {
    expect(() => openSource('serial:/dev/ttyUSB0?baud=7', { logger: silentLogger() })).toThrow(/baud "7" is not allowed/);
  });

  it('describes each source by its canonical spec', () => {
    const logger = silentLogger();
    expect(openSource('serial:/dev/ttyUSB0?dsmr=5', { logger }).description).toBe('serial:/dev/ttyUSB0');
    expect(openSource('tcp:localhost:2000', { logger }).description).toBe('tcp:localhost:2000');
    expect(openSource('file:x.txt', { logger }).description).toBe('file:x.txt?rate=fast');
    expect(openSource('simulate', { logger }).description).toBe('simulate?dsmr=5&interval=1');
    for (const spec of ['serial:/dev/ttyUSB0', 'tcp:localhost:2000', 'file:x.txt', 'simulate']) {
      expect(openSource(spec, { logger }).stats).toMatchObject({ state: 'closed', reconnects: 0, bytes: 0 });
    }
  });
});
