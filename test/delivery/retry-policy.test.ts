import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY_POLICY, retryDelay } from '../../src/delivery/retry-policy.js';

const policy = { baseMs: 1000, capMs: 300_000, maxRetryAfterMs: 3_600_000 };

describe('retry policy', () => {
  it('full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const delay = backoffDelay(attempt, policy, () => r);
        const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1));
        return delay >= 0 && delay <= ceiling && delay === Math.floor(r * ceiling);
      }),
    );
    expect(backoffDelay(1, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(4000);
    expect(backoffDelay(40, policy, () => 0.5)).toBe(150_000);
  });

  it('honours Retry-After in full, up to its cap, whatever the backoff says', () => {
    expect(retryDelay({ attempt: 1, kind: 'transient', retryAfterMs: 7000 }, policy, () => 0)).toBe(7000);
    expect(retryDelay({ attempt: 30, kind: 'transient', retryAfterMs: 1000 }, policy, () => 0.99)).toBe(1000);
    expect(retryDelay({ attempt: 1, kind: 'transient', retryAfterMs: 10 * 3_600_000 }, policy, () => 0)).toBe(3_600_000);
  });

  it('a misconfigured sink is retried slowly: between half the cap and the cap', () => {
    expect(retryDelay({ attempt: 1, kind: 'slow' }, policy, () => 0)).toBe(150_000);
    expect(retryDelay({ attempt: 1, kind: 'slow' }, policy, () => 0.999999)).toBe(299_999);
  });

  it('a sink not ready yet (404: database, bucket or feed missing) is retried within 30 s for its first 5 minutes, then slowly', () => {
    for (const r of [0, 0.5, 0.999999]) {
      for (const failingForMs of [0, 60_000, 299_999]) {
        const delay = retryDelay({ attempt: 3, kind: 'not-found', failingForMs }, policy, () => r);
        expect(delay).toBeGreaterThanOrEqual(15_000);
        expect(delay).toBeLessThanOrEqual(30_000);
      }
      expect(retryDelay({ attempt: 30, kind: 'not-found', failingForMs: 300_000 }, policy, () => r)).toBe(retryDelay({ attempt: 30, kind: 'slow' }, policy, () => r));
    }
    // Never slower than the sink's own cap.
    expect(retryDelay({ attempt: 1, kind: 'not-found', failingForMs: 0 }, { ...policy, capMs: 2000 }, () => 0.999999)).toBeLessThanOrEqual(2000);
  });

  it('defaults: 1 s base, 5 min cap', () => {
    expect(DEFAULT_RETRY_POLICY.baseMs).toBe(1000);
    expect(DEFAULT_RETRY_POLICY.capMs).toBe(300_000);
  });
});
