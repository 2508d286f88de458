import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimeArgument } from '../../src/commands/time-argument.js';
import { Queue } from '../../src/queue/queue.js';
import { makeTelegram } from '../queue/helpers.js';
import { runCli } from '../support/cli.js';
import { envWithout } from '../support/env.js';

describe('times on the command line (--from, --to, --start)', () => {
  const at = (text: string, zone = 'Europe/Amsterdam'): string => parseTimeArgument(text)!.at(zone).toISOString();

  it('a date is that day from midnight in timeZone; a time without offset is a wall-clock time there', () => {
    expect(at('2025-01-02')).toBe('2025-01-01T23:00:00.000Z');
    expect(at('2025-07-02')).toBe('2025-07-01T22:00:00.000Z');
    expect(at('2025-01-02', 'Europe/London')).toBe('2025-01-02T00:00:00.000Z');
    expect(at('2025-01-02T10:30')).toBe('2025-01-02T09:30:00.000Z');
    expect(at('2025-01-02 10:30:15.250')).toBe('2025-01-02T09:30:15.250Z');
  });

  it('an instant with an offset or Z stays that instant, whatever the zone', () => {
    expect(at('2025-01-02T00:00:00Z')).toBe('2025-01-02T00:00:00.000Z');
    expect(at('2025-01-02T10:00:00+02:00', 'America/New_York')).toBe('2025-01-02T08:00:00.000Z');
  });

  it('refuses what is not a date', () => {
    for (const text of ['yesterday', '2025-13-01', '2025-02-30', '2025-01-01T25:00', '1735689600']) expect(parseTimeArgument(text), text).toBeNull();
  });
});

describe('p1logger export --from/--to select days in timeZone', () => {
  let dir: string;
  let dataDir: string;
  // 23:30 on 1 January in Amsterdam, then 00:30 and 13:00 on 2 January, then 00:30 on 3 January.
  const received = ['2025-01-01T22:30:00Z', '2025-01-01T23:30:00Z', '2025-01-02T12:00:00Z', '2025-01-02T23:30:00Z'];
  // The process's own zone must not matter: only the configured one.
  const env = { ...envWithout('P1LOGGER_'), TZ: 'Pacific/Auckland' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'p1export-'));
    dataDir = join(dir, 'data');
    const queue = await Queue.open(dataDir);
    for (const [i, time] of received.entries()) await queue.append(makeTelegram(i + 1), new Date(time));
    await queue.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function exported(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const result = await runCli(['export', '--data-dir', dataDir, '--format', 'ndjson', ...args], { env: { ...env, ...extraEnv } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Each telegram carries its own meter time: which ones came out.
    return result.stdout.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { time: string }).time);
  }

  it('--from 2025-01-02 --to 2025-01-03 is 2 January in Europe/Amsterdam (the default timeZone)', async () => {
    const headers = await exported(['--from', '2025-01-02', '--to', '2025-01-03']);
    expect(headers).toHaveLength(2);
    expect(headers).toEqual((await exported([])).slice(1, 3));
  });

  it('timeZone from the configuration, or --time-zone, moves the day', { timeout: 180_000 }, async () => {
    const config = join(dir, 'tokyo.yaml');
    await writeFile(config, 'timeZone: Asia/Tokyo\n');
    // 2 January in Tokyo is 1 January 15:00 to 2 January 15:00 UTC: the first three.
    const tokyo = (await exported([])).slice(0, 3);
    expect(await exported(['--config', config, '--from', '2025-01-02', '--to', '2025-01-03'])).toEqual(tokyo);
    expect(await exported(['--time-zone', 'Asia/Tokyo', '--from', '2025-01-02', '--to', '2025-01-03'])).toEqual(tokyo);
    expect(await exported(['--from', '2025-01-02', '--to', '2025-01-03'], { P1LOGGER_TIME_ZONE: 'Asia/Tokyo' })).toEqual(tokyo);
  });

  it('an instant with an offset stays an instant', async () => {
    expect(await exported(['--from', '2025-01-01T23:00:00Z', '--to', '2025-01-02T23:00:00Z'])).toHaveLength(2);
  });
});
