// Retry timing, SSP-CLIENT-17: "after the n-th consecutive failed request of a subscription, a
// client MUST wait a random time between d/2 and d before the next attempt, where d is the
// smallest of 30 seconds, 2^(n−1) seconds, and, while it retries a poll or close of a live
// session, half of limits.idleTimeoutMs" (the jitter keeps clients cut off by one outage from
// coming back in lockstep; the cap keeps a live session from expiring during the wait); never
// sooner than the server or an intermediary advised (SSP-CLIENT-18: the longer wait wins).

export interface RetryOptions {
  /** d for the first retry; doubles per attempt. Default 1000 ms (the spec's 2^0 s). */
  initialDelayMs: number;
  /** Largest d. Default 30 000 ms (the spec's cap). */
  maxDelayMs: number;
  /** Consecutive failed requests (and restarts without an event, SSP-CLIENT-24) before giving up. Default: no limit but maxElapsedMs. */
  maxAttempts: number;
  /** Give up when a run of failed requests would last longer than this. Default 120 000 ms. */
  maxElapsedMs: number;
}

export const defaultRetryOptions: RetryOptions = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxElapsedMs: 120_000,
};

/**
 * Delay before retry number `attempt` (1-based): the longer of the advised delay and a random
 * backoff between d/2 and d, with d at most `capMs`. `random` returns [0, 1).
 */
export function retryDelayMs(
  attempt: number,
  advisedMs: number | undefined,
  options: RetryOptions,
  random: () => number,
  capMs = Number.POSITIVE_INFINITY,
): number {
  const d = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1), capMs);
  return Math.max(advisedMs ?? 0, Math.floor(d / 2 + random() * (d / 2)));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
