import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { openSource } from '../../src/sources/open.js';
import { simulatedTelegrams } from '../../src/sources/simulator.js';
import { parseTelegram } from '../../src/telegram/parse.js';
import { until } from './log-capture.js';
import { SourceReader } from './read-events.js';

describe('simulator', () => {
  it('fast: advances the meter clock by the interval, deterministically for a seed', async () => {
    const run = async (): Promise<string[]> => {
      const out: string[] = [];
      const options = { dsmr: '5' as const, intervalS: 1, seed: 4, count: 5, fast: true, startMs: Date.UTC(2024, 0, 1, 12) };
      for await (const t of simulatedTelegrams(options, new AbortController().signal)) out.push(t);
      return out;
    };
    const a = await run();
    expect(a.length).toBe(5);
    expect(a).toEqual(await run());
    expect(a.map((t) => parseTelegram(t).time)).toEqual([
      '2024-01-01T13:00:00+01:00',
      '2024-01-01T13:00:01+01:00',
      '2024-01-01T13:00:02+01:00',
      '2024-01-01T13:00:03+01:00',
      '2024-01-01T13:00:04+01:00',
    ]);
  });

  it('paces telegrams on whole multiples of the interval, using the injected clock for their times', async () => {
    const offset = Date.UTC(2030, 5, 1) - Date.now();
    const clock = (): number => Date.now() + offset;
    const times: number[] = [];
    const begin = clock();
    for await (const t of simulatedTelegrams({ dsmr: '5', intervalS: 0.1, count: 4, clock }, new AbortController().signal)) {
      times.push(clock());
      expect(parseTelegram(t).time!.startsWith('2030-06-01')).toBe(true);
    }
    // Paced, not all at once as in fast mode: telegram i comes no earlier than slot i after the start (a busy
    // machine can only make them later, so this holds however loaded the test machine is).
    times.forEach((t, i) => expect(t - begin).toBeGreaterThanOrEqual(i * 100));
  });

  it('as a source: yields telegrams until aborted', async () => {
    const reader = new SourceReader(openSource('simulate?interval=0.05&seed=3', { logger: silentLogger() }));
    await until(() => reader.telegrams.length >= 3, 5000, 'three telegrams');
    expect(reader.source.stats.state).toBe('open');
    await reader.stop();
    expect(reader.error).toBeUndefined();
    expect(reader.source.stats.state).toBe('closed');
    expect(reader.telegrams.every((t) => t.crc === 'ok')).toBe(true);
    expect(reader.source.stats.settings).toBe('simulated DSMR 5');
  });
});
