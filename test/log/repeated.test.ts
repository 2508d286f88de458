import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RepeatedLog } from '../../src/log/repeated.js';
import { captureLog } from '../sources/log-capture.js';

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2025-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RepeatedLog', () => {
  it('writes the first of a kind, counts the rest, and summarises them once per window with the last fields', () => {
    const log = captureLog();
    const repeated = new RepeatedLog({ logger: log.logger, summaryMs: 60_000 });
    expect(repeated.log('warn', 'crc', { n: 0 }, 'telegram rejected')).toBe(true);
    for (let n = 1; n <= 100_000; n++) expect(repeated.log('warn', 'crc', { n }, 'telegram rejected')).toBe(false);
    expect(log.lines.map((l) => l.msg)).toEqual(['telegram rejected']);
    vi.advanceTimersByTime(60_000);
    expect(log.lines).toHaveLength(2);
    expect(log.lines[1]).toMatchObject({ level: 40, n: 100_000, repeats: 100_000, seconds: 60, msg: 'telegram rejected: 100000 more in the last 60 s' });
    // Still coming: one summary per window.
    repeated.log('warn', 'crc', { n: -1 }, 'telegram rejected');
    vi.advanceTimersByTime(60_000);
    expect(log.lines.slice(2)).toMatchObject([{ repeats: 1, n: -1 }]);
  });

  it('forgets a kind after a window without repeats: the next one is written in full again', () => {
    const log = captureLog();
    const repeated = new RepeatedLog({ logger: log.logger, summaryMs: 10_000 });
    repeated.log('warn', 'truncated', {}, 'truncated');
    vi.advanceTimersByTime(10_000);
    expect(repeated.active).toBe(false);
    expect(repeated.log('warn', 'truncated', {}, 'truncated')).toBe(true);
    expect(log.lines.map((l) => l.msg)).toEqual(['truncated', 'truncated']);
  });

  it('keeps kinds apart, and flush() writes what is still counted', () => {
    const log = captureLog();
    const repeated = new RepeatedLog({ logger: log.logger, summaryMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      repeated.log('warn', 'a', {}, 'A');
      repeated.log('error', 'b', {}, 'B');
    }
    repeated.log('warn', 'c', {}, 'C');
    vi.advanceTimersByTime(5_000);
    repeated.flush();
    expect(repeated.active).toBe(false);
    expect(log.lines.map((l) => [l.level, l.msg, l.repeats])).toEqual([
      [40, 'A', undefined],
      [50, 'B', undefined],
      [40, 'C', undefined],
      [40, 'A: 2 more in the last 5 s', 2],
      [50, 'B: 2 more in the last 5 s', 2],
    ]);
    // Nothing left for a timer to write.
    vi.advanceTimersByTime(120_000);
    expect(log.lines).toHaveLength(5);
  });

  it('forget() drops the counts when a line says the trouble is over', () => {
    const log = captureLog();
    const repeated = new RepeatedLog({ logger: log.logger, summaryMs: 60_000 });
    repeated.log('warn', 'gone', {}, 'gone');
    repeated.log('warn', 'gone', {}, 'gone');
    repeated.forget();
    vi.advanceTimersByTime(120_000);
    expect(log.lines.map((l) => l.msg)).toEqual(['gone']);
    expect(repeated.log('warn', 'gone', {}, 'gone')).toBe(true);
  });

  it('writes each repeat at repeatLevel when asked (a reconnect cycle at debug)', () => {
    const log = captureLog();
    const repeated = new RepeatedLog({ logger: log.logger, summaryMs: 60_000, repeatLevel: 'debug' });
    repeated.log('warn', 'gone', { code: 'P1_PORT_NOT_FOUND' }, 'not found');
    repeated.log('warn', 'gone', { code: 'P1_PORT_NOT_FOUND' }, 'not found');
    expect(log.lines.map((l) => [l.level, l.code])).toEqual([
      [40, 'P1_PORT_NOT_FOUND'],
      [20, 'P1_PORT_NOT_FOUND'],
    ]);
  });
});
