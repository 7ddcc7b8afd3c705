// SSP-LIFETIME-7: "A `retryAfterMs` or `advice.delayMs` that the server sends in an answer to
// a `poll` or `close` MUST NOT exceed half of `limits.idleTimeoutMs`": whatever asks for the
// wait (a shutdown, the restart guard, a log that is unavailable, a session limit met by a
// re-creation), the session outlives it. The rule is written here only: the endpoint caps
// every error it answers a poll or close with, and the holders the waits in the answers they
// write themselves (a held poll's, the shutdown advice), which do not pass the endpoint.
import { SspError } from '../errors.ts';
import type { Limits } from '../limits.ts';

/** The longest wait an answer to a poll or close may ask for. */
export function sessionWaitMs(limits: Pick<Limits, 'idleTimeoutMs'>): number {
  return Math.floor(limits.idleTimeoutMs / 2);
}

/** retryAfterMs of a holder's own answers to a poll or close: the server's, within the session's wait. */
export function sessionRetryMs(retryAfterMs: number, limits: Pick<Limits, 'idleTimeoutMs'>): number {
  return Math.min(retryAfterMs, sessionWaitMs(limits));
}

/**
 * delayMs of the shutdown termination's resume advice, the same for plain and multiplexed
 * sessions; requests during shutdown are asked to wait at least as long (SSP-TERMINATION-20).
 */
export function shutdownDelayMs(shutdownResumeDelayMs: number, sessionRetry: number): number {
  return Math.min(shutdownResumeDelayMs, sessionRetry);
}

/** `error`, asking for a wait of at most `maxWaitMs` (sessionWaitMs or less). */
export function capRetryAfter(error: SspError, maxWaitMs: number): SspError {
  const { retryAfterMs } = error.extras;
  if (retryAfterMs === undefined || retryAfterMs <= maxWaitMs) return error;
  return new SspError(error.code, error.message, { ...error.extras, retryAfterMs: maxWaitMs });
}

/**
 * A held poll's asynchronous log read failed: logged, and answered `unavailable` (retryable,
 * nothing lost) with `retryAfterMs` the session outlives. The answer does not pass the endpoint.
 */
export function readFailed(error: unknown, retryAfterMs: number): SspError {
  console.error('xanjax: event log read failed:', error);
  return new SspError('unavailable', 'the event log is not available', { retryAfterMs });
}
