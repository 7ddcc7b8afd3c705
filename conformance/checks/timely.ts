// Upper bounds on answer times (issue 9 §1): "at once" and "within batchDelayMs" are judged
// against the measured round trip of this server, not a fixed allowance, so a server ten
// times slower than it advertises fails while a conforming one on a loaded machine passes.
// A late answer is re-measured (fresh round trip, fresh attempt) before it counts: the
// runner retries only what it would measure again anyway, and a slow server is slow every time.
import type { CheckContext } from '../check.ts';

/** Attempts before a late answer is a failure. */
const attempts = 3;

/**
 * `measure` performs the timed exchange once (its own assertions included) and returns how
 * many ms the answer took and what it was due within (unscaled ms after the request).
 */
export async function assertTimely(ctx: CheckContext, what: string, measure: () => Promise<{ ms: number; dueMs: number }>): Promise<void> {
  const late: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const slack = await ctx.lateSlack();
    const { ms, dueMs } = await measure();
    const latest = Math.round(dueMs * ctx.timeoutScale + slack.ms);
    if (ms <= latest) return;
    late.push(`${ms} ms (due by ${latest} ms: ${dueMs} ms + ${slack.ms} ms margin over a ${slack.roundTripMs} ms round trip, ${slack.how})`);
  }
  ctx.fail(`${what}: answered late on each of ${attempts} attempts: ${late.join('; ')}`);
}

/** Lower bound: answered no earlier than `dueMs` less timer slack. */
export function assertNotEarly(ctx: CheckContext, ms: number, dueMs: number, what: string): void {
  const earliest = dueMs - ctx.earlySlack;
  ctx.assert(ms >= earliest, `${what}: answered after ${ms} ms, earlier than the ${dueMs} ms it had to wait (the runner's clock starts before the request leaves, so only ${ctx.earlySlack} ms of timer slack is allowed)`);
}
