// Every wait and timeout the runner uses is derived from the limits the server advertises
// (spec §5) and multiplied by --timeout-scale, so slow machines can stretch them.
import type { Limits } from '../schemas/types.gen.ts';

/** How late a timed answer may be: max(250 ms, 20% of maxHoldMs), scaled. */
export function toleranceMs(limits: Limits, scale: number): number {
  return Math.round(Math.max(250, 0.2 * limits.maxHoldMs) * scale);
}

/**
 * Abort timeout of one request: the longest the server may legitimately hold it
 * (effective hold + batchDelayMs, spec §10) plus a second and the tolerance. A server
 * that does not answer by then has hung, and the check fails instead of the run hanging.
 */
export function requestTimeoutMs(limits: Limits, scale: number, holdMs: number = limits.maxHoldMs): number {
  const hold = Math.min(Math.max(holdMs, 0), limits.maxHoldMs);
  return Math.round((hold + limits.batchDelayMs + 1000) * scale) + toleranceMs(limits, scale);
}

/**
 * Longest a whole check may run. Checks wait at most for a few holds, an idle timeout and
 * the termination memory (lifetime checks), so this bound is only reached by a check that
 * hangs on its own: every single request is already bounded by requestTimeoutMs.
 */
export function checkTimeoutMs(limits: Limits, scale: number): number {
  return Math.round((10_000 + 4 * limits.maxHoldMs + limits.idleTimeoutMs + limits.terminationMemoryMs) * scale);
}
