// Spec §10 Holding: events available → answer within batchDelayMs; else hold until an
// event, the end, a close, a newer poll or the effective hold (min(hold ?? maxHoldMs,
// maxHoldMs)) → empty batch at the same position. A newer poll supersedes a held one.
import { check } from '../check.ts';
import type { Answer, Check, CheckContext } from '../check.ts';
import type { BatchMessage, ServerMessage, SspEvent } from '../../schemas/types.gen.ts';
import { expectBatch } from './answers.ts';
import { drain, lastSeq, readEvents } from './drain.ts';
import { elapsed, openQuiet } from './sessions.ts';
import { assertNotEarly, assertTimely } from './timely.ts';

/** Poll a quiet session with `hold`: an empty batch, answered after how many ms. */
async function holdOnce(ctx: CheckContext, hold: number | undefined): Promise<number> {
  const session = await openQuiet(ctx);
  const answer = await ctx.poll(session.body.sig, hold);
  const batch = expectBatch(ctx, answer, `poll with hold ${hold ?? '(omitted)'}`);
  ctx.assert(batch.events.length === 0, `a quiet session answered ${batch.events.length} event(s)`);
  await ctx.close(batch.sig);
  return elapsed(answer);
}

/** Quiet sessions polled at the same time: load can only delay an answer, so the quickest is the truest measure of a hold. */
const parallelHolds = 3;

/** The quickest of several concurrent quiet polls with `hold`, in ms. */
async function holdOnQuiet(ctx: CheckContext, hold: number | undefined): Promise<number> {
  return Math.min(...(await Promise.all(Array.from({ length: parallelHolds }, () => holdOnce(ctx, hold)))));
}

/** A quiet poll with `hold` ends no earlier than `expected` less timer slack, and at once after it. */
async function assertHeldFor(ctx: CheckContext, hold: number | undefined, expected: number, what: string): Promise<void> {
  await assertTimely(ctx, what, async () => {
    const ms = await holdOnQuiet(ctx, hold);
    assertNotEarly(ctx, ms, expected, what);
    return { ms, dueMs: expected + ctx.discovery.limits.batchDelayMs };
  });
}

interface Superseded {
  a: Answer<ServerMessage>;
  batchA: BatchMessage;
  /** With `readFromA`, what polls with A's sig read after B's answer: still from A's position. */
  fromA: SspEvent[];
  supersedeAfter: number;
  /** Events delivered to the superseding poll B and to every poll after it, to the end. */
  seqsFromB: number[];
  last: number;
  /** When poll B was sent, in ms after poll A. */
  bSentAfter: number;
}

/**
 * Poll A is held; poll B (the session signature, while A carries `useOtherSig` ? a later
 * signature of the same position : the same one) arrives before the only event.
 */
async function supersede(ctx: CheckContext, useOtherSig: boolean, readFromA: boolean): Promise<Superseded> {
  const { maxHoldMs } = ctx.discovery.limits;
  const supersedeAfter = Math.min(200, Math.floor(maxHoldMs / 5));
  // The event comes well after A's answer deadline (a loaded machine may take hundreds of ms
  // to send A and B), so an A answered by the event is a server that did not supersede it.
  const session = await ctx.open('ssp.counter', { count: 1, intervalMs: supersedeAfter + Math.ceil(ctx.tolerance / ctx.timeoutScale) + 1000 });
  const open = session.body.sig;
  const sigA = useOtherSig ? expectBatch(ctx, await ctx.poll(open, 0), 'poll with hold 0 for a second signature').sig : open;
  const aSent = performance.now();
  const pollA = ctx.poll(sigA, maxHoldMs);
  await ctx.sleep(supersedeAfter);
  const bSentAfter = Math.round(performance.now() - aSent);
  const [a, b] = await Promise.all([pollA, ctx.poll(open, maxHoldMs)]);
  const batchA = expectBatch(ctx, a, 'held poll A, superseded by poll B');
  const batchB = expectBatch(ctx, b, 'superseding poll B');
  // Before reading on: once the termination is delivered, every signature gets it. Held
  // polls: the event may not be there yet (a server whose holds end early answered B empty).
  const fromA = readFromA ? (await readEvents(ctx, batchA.sig, 1, 5)).events : [];
  const rest = await drain(ctx, batchB.sig);
  return { a, batchA, fromA, supersedeAfter, seqsFromB: [...batchB.events, ...rest.events].map((event) => event.seq), last: rest.termination.last, bSentAfter };
}

async function assertSupersededAnswer(ctx: CheckContext, useOtherSig: boolean): Promise<void> {
  await assertTimely(ctx, 'superseded poll A (due at once after poll B was sent)', async () => {
    const { a, batchA, fromA, bSentAfter } = await supersede(ctx, useOtherSig, true);
    ctx.assert(batchA.events.length === 0, `superseded poll A must get an empty batch, got ${batchA.events.length} event(s)`);
    // A's sig keeps A's position (0): it still leads to event 1 (re-delivery of a retained event).
    ctx.assert(fromA[0]?.seq === 1, `the superseded answer's sig must encode position 0, but it led to ${JSON.stringify(fromA.map((e) => e.seq))}`);
    return { ms: elapsed(a), dueMs: bSentAfter };
  });
}

export const holdChecks: Check[] = [
  check('SSP-HOLD-1', 'MUST answer within batchDelayMs with events when events are available', async (ctx: CheckContext) => {
    const { maxHoldMs, batchDelayMs } = ctx.discovery.limits;
    await assertTimely(ctx, `poll with events available (due within batchDelayMs ${batchDelayMs})`, async () => {
      const session = await ctx.open('ssp.burst', { count: 3 });
      const answer = await ctx.poll(session.body.sig, maxHoldMs);
      const batch = expectBatch(ctx, answer, 'poll with events available');
      ctx.assert(batch.events.length > 0, 'events were available but the batch is empty');
      return { ms: elapsed(answer), dueMs: batchDelayMs };
    });
  }, { needs: ['annex'], exclusive: true }),
  check('SSP-HOLD-3', 'MUST hold a poll without available events instead of answering early', async (ctx: CheckContext) => {
    const { maxHoldMs } = ctx.discovery.limits;
    assertNotEarly(ctx, await holdOnQuiet(ctx, maxHoldMs), maxHoldMs, `hold ${maxHoldMs} on a quiet session`);
  }, { needs: ['annex'] }),
  check('SSP-HOLD-4', 'MUST answer a held poll within batchDelayMs after an event is appended', async (ctx: CheckContext) => {
    const { maxHoldMs, batchDelayMs } = ctx.discovery.limits;
    const intervalMs = Math.floor(maxHoldMs / 3);
    await assertTimely(ctx, `held poll, event appended ${intervalMs} ms after open (due within batchDelayMs ${batchDelayMs} after it)`, async () => {
      const session = await ctx.open('ssp.counter', { count: 1, intervalMs });
      const answer = await ctx.poll(session.body.sig, maxHoldMs);
      const batch = expectBatch(ctx, answer, 'held poll');
      ctx.assert(batch.events.length === 1, `the event was appended during the hold but the batch has ${batch.events.length} event(s)`);
      return { ms: elapsed(answer), dueMs: intervalMs + batchDelayMs };
    });
  }, { needs: ['annex'], exclusive: true }),
  check('SSP-HOLD-5', 'MUST answer a poll whose hold passed without events with an empty batch at the poll\'s position', async (ctx: CheckContext) => {
    const { maxHoldMs } = ctx.discovery.limits;
    // Event 1 at once, event 2 long after a short hold: the empty batch must keep position 1.
    const session = await ctx.open('ssp.counter', { count: 2, intervalMs: Math.floor(maxHoldMs / 2) });
    const first = await readEvents(ctx, session.body.sig, 1, 5);
    ctx.assert(lastSeq(first.events) === 1, `expected event 1 first, got ${JSON.stringify(first.events.map((e) => e.seq))}`);
    const empty = expectBatch(ctx, await ctx.poll(first.sig, 0), 'poll with hold 0 at position 1');
    ctx.assert(empty.events.length === 0, `position 1, before event 2: expected an empty batch, got ${empty.events.length} event(s)`);
    const next = await readEvents(ctx, empty.sig, 1, 5);
    ctx.assert(next.events[0]?.seq === 2, `the empty batch's sig must keep position 1, but it led to ${JSON.stringify(next.events.map((e) => e.seq))}`);
  }, { needs: ['annex'] }),
  check('SSP-HOLD-6/below', 'MUST hold for the requested hold when it is below maxHoldMs', async (ctx: CheckContext) => {
    const hold = Math.floor(ctx.discovery.limits.maxHoldMs / 2);
    await assertHeldFor(ctx, hold, hold, `hold ${hold}`);
  }, { needs: ['annex'] }),
  check('SSP-HOLD-6/omitted', 'MUST hold for maxHoldMs when hold is absent', async (ctx: CheckContext) => {
    await assertHeldFor(ctx, undefined, ctx.discovery.limits.maxHoldMs, 'hold omitted');
  }, { needs: ['annex'] }),
  check('SSP-HOLD-6/above', 'MUST hold for maxHoldMs when hold is above it', async (ctx: CheckContext) => {
    const { maxHoldMs } = ctx.discovery.limits;
    await assertHeldFor(ctx, 4 * maxHoldMs, maxHoldMs, `hold ${4 * maxHoldMs}`);
  }, { needs: ['annex'] }),
  check('SSP-HOLD-7', 'MUST answer a poll with hold 0 at once', async (ctx: CheckContext) => {
    await assertTimely(ctx, 'hold 0 on a quiet session (due at once)', async () => ({ ms: await holdOnQuiet(ctx, 0), dueMs: 0 }));
  }, { needs: ['annex'], exclusive: true }),
  check('SSP-HOLD-10/same-signature', 'MUST answer a held poll superseded by a newer poll at once, empty, at its position',
    (ctx: CheckContext) => assertSupersededAnswer(ctx, false), { needs: ['annex'] }),
  check('SSP-HOLD-10/other-signature', 'MUST answer a held poll superseded by a poll with another signature of the session at once, empty, at its position',
    (ctx: CheckContext) => assertSupersededAnswer(ctx, true), { needs: ['annex'] }),
  check('SSP-HOLD-11', 'SHOULD NOT answer a held poll because a poll at an earlier position arrives', async (ctx: CheckContext) => {
    const { maxHoldMs } = ctx.discovery.limits;
    const intervalMs = Math.max(10, Math.floor(maxHoldMs / 3));
    const session = await ctx.open('ssp.ticker', { intervalMs });
    const first = expectBatch(ctx, await ctx.poll(session.body.sig, maxHoldMs), 'first poll of the ticker');
    ctx.assert(first.events.length > 0, `no ticker event within maxHoldMs (intervalMs ${intervalMs})`);
    // The owner's poll at the newest position waits for the next tick (due within intervalMs).
    const held = ctx.poll(first.sig, maxHoldMs);
    await ctx.sleep(Math.min(100, Math.floor(intervalMs / 4)));
    const old = expectBatch(ctx, await ctx.poll(session.body.sig, 0), 'poll with the session message\'s signature (position 0)');
    ctx.assert(old.events[0]?.seq === 1 || old.gap !== undefined, `poll at position 0: expected event 1 or a gap, got ${JSON.stringify(old.events.map((e) => e.seq))}`);
    const answer = expectBatch(ctx, await held, 'held poll at the newest position');
    ctx.assert(answer.events.length > 0, 'the held poll was answered empty: a poll at an earlier position superseded it');
  }, { needs: ['annex'] }),
  check('SSP-HOLD-9', 'MUST process the superseding poll as if no poll had been held, losing no event', async (ctx: CheckContext) => {
    const { seqsFromB, last } = await supersede(ctx, false, false);
    ctx.assert(seqsFromB.join() === '1' && last === 1, `the superseding poll and the polls after it got ${JSON.stringify(seqsFromB)} before termination last ${last}; expected event 1`);
  }, { needs: ['annex'] }),
];
