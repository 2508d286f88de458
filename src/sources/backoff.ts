/** How long to wait between reconnect attempts. */
export interface BackoffPolicy {
  /** Ceiling of the first delay; doubles per failed attempt. */
  initialMs: number;
  /** Cap of the ceiling: an unplugged meter is found again within this time after it returns. */
  maxMs: number;
  /** Floor of every delay, so an unlucky draw never turns retries into a busy loop. */
  minMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 1000, maxMs: 30_000, minMs: 250 });

/**
 * Capped exponential backoff with full jitter: uniform in [0, min(max, initial * 2^attempt)), floored at minMs.
 * Full jitter spreads out many loggers that lost the same ser2net server at once. Pure; `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(policy.minMs, Math.floor(random() * ceiling));
}
