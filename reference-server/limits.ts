// Server limits advertised in discovery (spec §5). Conformance mode uses short values
// so the conformance suite runs in seconds.
import type { Limits } from '../schemas/types.gen.ts';

export type { Limits };

export const defaultLimits: Readonly<Limits> = {
  maxHoldMs: 25_000,
  batchDelayMs: 0,
  maxBatchEvents: 100,
  maxBatchBytes: 65_536,
  idleTimeoutMs: 60_000,
  retainEvents: 1000,
  maxBodyBytes: 16_384,
  terminationMemoryMs: 60_000,
};

export const conformanceLimits: Readonly<Limits> = {
  maxHoldMs: 1500,
  batchDelayMs: 20,
  maxBatchEvents: 20,
  maxBatchBytes: 16_384,
  idleTimeoutMs: 2000,
  retainEvents: 50,
  maxBodyBytes: 16_384,
  terminationMemoryMs: 5000,
};

/** Lower bounds of SSP-DISCOVERY-8: an empty batch and an annex open fit, and a client's 1 s re-poll wait fits the idle lifetime. */
const lowerBounds: Readonly<Record<string, number>> = { batchDelayMs: 0, maxBatchBytes: 4096, maxBodyBytes: 4096, idleTimeoutMs: 2000 };

/**
 * Checks that limits are positive integers (batchDelayMs may be 0) within the lower bounds of
 * SSP-DISCOVERY-8: spec §5. Raises
 * terminationMemoryMs to at least idleTimeoutMs + maxHoldMs, as long as a signature can
 * stay valid (SSP-TERMINATION-15), and advertises what the server really does.
 */
export function checkLimits(limits: Limits): Limits {
  for (const [name, value] of Object.entries(limits)) {
    const min = lowerBounds[name] ?? 1;
    if (value === undefined || !Number.isSafeInteger(value) || value < min) throw new RangeError(`limits.${name} must be an integer >= ${min}, got ${value}`);
  }
  return { ...limits, terminationMemoryMs: Math.max(limits.terminationMemoryMs, limits.idleTimeoutMs + limits.maxHoldMs) };
}
