/** How long a sink waits between attempts. Pure: the random source is a parameter, so tests pin it. */
export interface RetryPolicy {
  /** Upper bound of the first delay. */
  baseMs: number;
  /** No delay is longer (the exponential stops growing here); also the pace of retries while misconfigured. */
  capMs: number;
  /** A server's Retry-After is honoured up to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1000, capMs: 5 * 60_000, maxRetryAfterMs: 60 * 60_000 };

export type RetryKind =
  /** Network error, 5xx, 429: exponential backoff with full jitter. */
  | 'transient'
  /** 401/403: nothing changes until someone fixes the configuration; retry slowly, at about the cap. */
  | 'slow'
  /**
   * 404: a database, bucket or feed that is missing may be on its way (created by its owner, or by a script next
   * to the first start of p1logger): retried within 30 s for the first 5 minutes, then as 'slow'.
   */
  | 'not-found';

/** How long a missing target is retried quickly, and how quickly. */
export const NOT_FOUND_QUICK_FOR_MS = 5 * 60_000;
export const NOT_FOUND_QUICK_MS = 30_000;

/**
 * "Full jitter" (AWS architecture blog, "Exponential Backoff and Jitter"): a delay drawn uniformly from
 * [0, min(cap, base * 2^(attempt-1))], so many clients coming back after an outage do not arrive together.
 * `attempt` counts failures so far (1 after the first).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/**
 * The delay before the next attempt. A server's Retry-After replaces the computed delay: it knows when it will be
 * back, and coming earlier only earns another 429/503 (up to maxRetryAfterMs, so a bogus value cannot stall a sink).
 */
export function retryDelay(
  failure: { attempt: number; kind: RetryKind; retryAfterMs?: number | undefined; /** Since the first 404 of this send. */ failingForMs?: number },
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  if (failure.retryAfterMs !== undefined) return Math.min(Math.max(failure.retryAfterMs, 0), policy.maxRetryAfterMs);
  const quick = failure.kind === 'not-found' && (failure.failingForMs ?? 0) < NOT_FOUND_QUICK_FOR_MS;
  if (quick) return Math.floor(Math.min(policy.capMs, NOT_FOUND_QUICK_MS) * (0.5 + random() / 2));
  if (failure.kind === 'slow' || failure.kind === 'not-found') return Math.floor(policy.capMs * (0.5 + random() / 2));
  return backoffDelay(failure.attempt, policy, random);
}
