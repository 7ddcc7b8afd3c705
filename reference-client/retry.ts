// Retry timing: exponential backoff with full jitter (a random delay between 0 and the
// exponential cap, so many clients cut off by one outage do not come back in lockstep),
// never sooner than the server advised (Retry-After / retryAfterMs, SSP/1 §8).

export interface RetryOptions {
  /** Cap of the first retry's random delay; doubles per attempt. Default 500 ms. */
  initialDelayMs: number;
  /** Largest jittered delay. Default 15 000 ms. */
  maxDelayMs: number;
  /** Retries of one request before giving up. Default 12. */
  maxAttempts: number;
  /** Give up when retrying one request would run longer than this. Default 120 000 ms. */
  maxElapsedMs: number;
}

export const defaultRetryOptions: RetryOptions = {
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  maxAttempts: 12,
  maxElapsedMs: 120_000,
};

/** Delay before retry number `attempt` (1-based). `random` returns [0, 1). */
export function retryDelayMs(attempt: number, advisedMs: number | undefined, options: RetryOptions, random: () => number): number {
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  return Math.max(advisedMs ?? 0, Math.floor(random() * cap));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
