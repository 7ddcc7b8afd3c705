// Upper bounds on answer times (issue 9 §1): "at once" and "within batchDelayMs" are judged
// against the measured round trip of this server, not a fixed allowance, so a server ten
// times slower than it advertises fails while a conforming one on a loaded machine passes.
// A late answer is re-measured (fresh round trip, fresh attempt) before it counts: the
// runner retries only what it would measure again anyway, and a slow server is slow every time.
// A stall of the runner's own event loop during an attempt (a loaded machine, a server in the
// same process) delays when the runner sees the answer: it is added to that attempt's bound,
// measured, and named in the failure. A server's own slowness is not a stall of the runner's.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CheckContext } from '../check.ts';

/** Attempts before a late answer is a failure. */
const attempts = 3;
/** Sampling period of the stall monitor: each sample's interval is this plus the stall. */
const STALL_RESOLUTION_MS = 10;

/**
 * Runs `run`, and measures the longest the runner's event loop could not run meanwhile
 * (`stallMs`) and the time it lost in all (`lostMs`: every sample's interval beyond the
 * resolution, summed; a loaded machine loses it in many short waits as well as in one).
 */
export async function measuringStall<T>(run: () => Promise<T>): Promise<{ value: T; stallMs: number; lostMs: number }> {
  const delays = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS });
  delays.enable();
  try {
    const value = await run();
    const lostMs = delays.count === 0 ? 0 : (delays.count * delays.mean) / 1e6 - delays.count * STALL_RESOLUTION_MS;
    return { value, stallMs: Math.max(0, Math.round(delays.max / 1e6 - STALL_RESOLUTION_MS)), lostMs: Math.max(0, Math.round(lostMs)) };
  } finally {
    delays.disable();
  }
}

/**
 * `measure` performs the timed exchange once (its own assertions included) and returns how
 * many ms the answer took and what it was due within (unscaled ms after the request).
 */
export async function assertTimely(ctx: CheckContext, what: string, measure: () => Promise<{ ms: number; dueMs: number }>): Promise<void> {
  const late: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const slack = await ctx.lateSlack();
    const { value, stallMs } = await measuringStall(measure);
    const { ms, dueMs } = value;
    const latest = Math.round(dueMs * ctx.timeoutScale + slack.ms + stallMs);
    if (ms <= latest) return;
    late.push(`${ms} ms (due by ${latest} ms: ${dueMs} ms + ${slack.ms} ms margin over a ${slack.roundTripMs} ms round trip, ${slack.how}, + ${stallMs} ms the runner's event loop stalled)`);
  }
  ctx.fail(`${what}: answered late on each of ${attempts} attempts: ${late.join('; ')}`);
}

/** Lower bound: answered no earlier than `dueMs` less timer slack. */
export function assertNotEarly(ctx: CheckContext, ms: number, dueMs: number, what: string): void {
  const earliest = dueMs - ctx.earlySlack;
  ctx.assert(ms >= earliest, `${what}: answered after ${ms} ms, earlier than the ${dueMs} ms it had to wait (the runner's clock starts before the request leaves, so only ${ctx.earlySlack} ms of timer slack is allowed)`);
}
