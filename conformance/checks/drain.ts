// Reading a session to its end the way a client does (spec §9, §12): poll with the
// newest signature until the termination arrives. Bounded in polls, so a server that never
// terminates fails the check instead of hanging it.
import type { CheckContext } from '../check.ts';
import type { BatchMessage, SspEvent, TerminationMessage } from '../../schemas/types.gen.ts';
import { expectBatch } from './answers.ts';

export interface Drained {
  batches: BatchMessage[];
  events: SspEvent[];
  termination: TerminationMessage;
  /**
   * performance.now() when the poll that the termination answered was sent: a stream that
   * ends (`complete`, `error`) terminates when that answer is sent, so no earlier than this.
   */
  terminationPolledAt: number;
}

export interface DrainOptions {
  /** Hold of each poll (default: the server maximum). */
  hold?: number;
  /** Most polls before giving up (default 50). */
  maxPolls?: number;
}

export async function drain(ctx: CheckContext, sig: string, options: DrainOptions = {}): Promise<Drained> {
  const maxPolls = options.maxPolls ?? 50;
  const batches: BatchMessage[] = [];
  let current = sig;
  for (let polls = 0; polls < maxPolls; polls++) {
    const polledAt = performance.now();
    const answer = await ctx.poll(current, options.hold);
    if (answer.status === 200 && answer.body.type === 'termination') {
      return { batches, events: batches.flatMap((batch) => batch.events), termination: answer.body, terminationPolledAt: polledAt };
    }
    const batch = expectBatch(ctx, answer, `poll ${polls + 1} while reading the stream to its end`);
    batches.push(batch);
    current = batch.sig;
  }
  return ctx.fail(`no termination after ${maxPolls} polls`);
}

/** Poll with the newest signature until at least `count` events arrived (or fail after maxPolls). */
export async function readEvents(ctx: CheckContext, sig: string, count: number, maxPolls = 50): Promise<{ events: SspEvent[]; sig: string }> {
  const events: SspEvent[] = [];
  let current = sig;
  for (let polls = 0; polls < maxPolls && events.length < count; polls++) {
    const batch = expectBatch(ctx, await ctx.poll(current), `poll ${polls + 1} while waiting for ${count} events`);
    events.push(...batch.events);
    current = batch.sig;
  }
  ctx.assert(events.length >= count, `only ${events.length} of ${count} events after ${maxPolls} polls`);
  return { events, sig: current };
}

/**
 * Read `count` events that must all be available already (appended at open), with hold 0
 * polls: each must carry at least one of them (SSP-HOLD-1, -7), so an empty batch before
 * the last shows an event was not there yet. Across polls, because the batch limits may
 * split them (SSP-BATCH-1, -2). At most `count` polls: each brings one event or more.
 */
export async function readAtOnce(ctx: CheckContext, sig: string, count: number, what: string): Promise<{ events: SspEvent[]; sig: string }> {
  const events: SspEvent[] = [];
  let current = sig;
  for (let polls = 1; polls <= count && events.length < count; polls++) {
    const batch = expectBatch(ctx, await ctx.poll(current, 0), `${what}: poll ${polls} with hold 0`);
    ctx.assert(batch.events.length > 0, `${what}: poll ${polls} with hold 0 got an empty batch after ${events.length} of ${count} events: they were not all there at open`);
    events.push(...batch.events);
    current = batch.sig;
  }
  return { events, sig: current };
}

/**
 * `n`, or fewer if the server retains fewer (limits.retainEvents may be any positive
 * integer): of events appended at once, older ones than the newest retainEvents may be gone
 * before the first poll (SSP-DELIVERY-8), and a check that expects all of them must not
 * fail a server for that.
 */
export function retainedAtMost(ctx: CheckContext, n: number): number {
  return Math.min(n, ctx.discovery.limits.retainEvents);
}

/** Highest seq among events (0 if none): the client's position after receiving them. */
export function lastSeq(events: readonly SspEvent[]): number {
  return events.reduce((max, event) => Math.max(max, event.seq), 0);
}
