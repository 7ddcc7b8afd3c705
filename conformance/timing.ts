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

/** Timer slack for lower bounds: a runner's clock starts before the request leaves, so only rounding remains. */
export const earlySlackMs = 20;

/** Round trips measured for each lateSlack (the best one counts: the network's share of an answer). */
export const roundTripSamples = 5;

/**
 * How late an answer due at once (or within batchDelayMs) may be: 50 ms of scheduling
 * slack on a loaded machine plus three measured round trips, scaled. On loopback that is
 * well under 100 ms, so a server ten times slower than it advertises is caught, and a
 * slow link or machine stretches it by its own measure.
 */
export function lateSlackMs(roundTripMs: number, scale: number): number {
  return Math.round((50 + 3 * roundTripMs) * scale);
}
