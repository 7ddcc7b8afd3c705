// Retry timing, SSP-CLIENT-10: "after the n-th consecutive failed request of a session, a
// client MUST wait a random time between d/2 and d before retrying, where d is the smaller
// of 30 seconds and 2^(n−1) seconds" (the jitter keeps clients cut off by one outage from
// coming back in lockstep); never sooner than the server advised (SSP-CLIENT-11).

export interface RetryOptions {
  /** d for the first retry; doubles per attempt. Default 1000 ms (the spec's 2^0 s). */
  initialDelayMs: number;
  /** Largest d. Default 30 000 ms (the spec's cap). */
  maxDelayMs: number;
  /** Retries of one request before giving up. Default 12. */
  maxAttempts: number;
  /** Give up when retrying one request would run longer than this. Default 120 000 ms. */
  maxElapsedMs: number;
}

export const defaultRetryOptions: RetryOptions = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 12,
  maxElapsedMs: 120_000,
};

/** Delay before retry number `attempt` (1-based). `random` returns [0, 1). */
export function retryDelayMs(attempt: number, advisedMs: number | undefined, options: RetryOptions, random: () => number): number {
  const d = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
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
