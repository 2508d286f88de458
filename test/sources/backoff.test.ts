import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/sources/backoff.js';
import { seededRandom } from '../../src/sources/random.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 3000, minMs: 10 };

  it('draws uniformly below a ceiling that doubles per attempt (full jitter)', () => {
    const almostOne = (): number => 0.999999;
    expect([0, 1, 2, 3, 4].map((a) => backoffDelay(a, policy, almostOne))).toEqual([99, 199, 399, 799, 1599]);
  });

  it('caps the ceiling at maxMs however many attempts failed', () => {
    expect(backoffDelay(5, policy, () => 0.999999)).toBe(2999);
    expect(backoffDelay(10_000, policy, () => 0.999999)).toBe(2999);
  });

  it('never goes below minMs, so retries cannot spin', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(10);
    expect(backoffDelay(7, DEFAULT_BACKOFF, () => 0)).toBe(DEFAULT_BACKOFF.minMs);
  });

  it('spreads the delays over the whole range', () => {
    const random = seededRandom(3);
    const delays = Array.from({ length: 2000 }, () => backoffDelay(20, policy, random));
    expect(Math.min(...delays)).toBeLessThan(300);
    expect(Math.max(...delays)).toBeGreaterThan(2700);
    expect(delays.every((d) => d >= 10 && d < 3000)).toBe(true);
  });

  it('defaults: first retry within a second, never more than 30 s apart', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBeLessThan(1000);
    expect(backoffDelay(50, DEFAULT_BACKOFF, () => 0.999999)).toBeLessThan(30_000);
  });
});
