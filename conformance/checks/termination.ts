// Spec §12 Termination: every event first, then the termination at once, with `last`, the
// reason's advice and `error` only for reason error; repeated identically to every later
// poll and close for at least terminationMemoryMs.
import { isDeepStrictEqual } from 'node:util';
import { check, CheckNote } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import type { TerminationMessage } from '../../schemas/types.gen.ts';
import { assertTimely } from './timely.ts';
import { expectBatch, expectTermination } from './answers.ts';
import { drain, lastSeq, retainedAtMost } from './drain.ts';
import { elapsed, openQuiet, waitPastIdle } from './sessions.ts';

/** A poll (or close) with `sig` must get exactly `termination` again. */
async function assertRepeated(ctx: CheckContext, termination: TerminationMessage, sig: string, verb: 'poll' | 'close', what: string): Promise<void> {
  const answer = verb === 'poll' ? await ctx.poll(sig, 0) : await ctx.close(sig);
  const body = expectTermination(ctx, answer, what);
  ctx.assert(isDeepStrictEqual(body, termination), `${what}: got ${JSON.stringify(body)}, expected the identical ${JSON.stringify(termination)}`);
}

export const terminationChecks: Check[] = [
  check('SSP-TERMINATION-1', 'MUST deliver every event of an ended stream before the termination', async (ctx: CheckContext) => {
    // Streams that have ended before the first poll: their events still come first, all of them.
    const [burst, fail] = [retainedAtMost(ctx, 5), retainedAtMost(ctx, 3)];
    for (const [stream, params, count] of [['ssp.burst', { count: burst }, burst], ['ssp.fail', { after: fail }, fail]] as const) {
      const session = await ctx.open(stream, params);
      await ctx.sleep(50);
      const { events, termination } = await drain(ctx, session.body.sig, { hold: 0 });
      const seqs = events.map((event) => event.seq).join();
      const expected = Array.from({ length: count }, (_, i) => i + 1).join();
      ctx.assert(seqs === expected, `${stream}: got events [${seqs}] before termination ${termination.reason} last ${termination.last}, expected [${expected}]`);
    }
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-2', 'MUST answer a poll at the last event of an ended stream with the termination at once', async (ctx: CheckContext) => {
    const { maxHoldMs, batchDelayMs } = ctx.discovery.limits;
    await assertTimely(ctx, 'termination for a poll at the last event (due at once)', async () => {
      const session = await ctx.open('ssp.counter', { count: 1 });
      const batch = expectBatch(ctx, await ctx.poll(session.body.sig), 'first poll');
      ctx.assert(lastSeq(batch.events) === 1, `first poll: expected event 1, got ${JSON.stringify(batch.events.map((e) => e.seq))}`);
      const answer = await ctx.poll(batch.sig, maxHoldMs);
      expectTermination(ctx, answer, 'poll at the last event');
      return { ms: elapsed(answer), dueMs: batchDelayMs };
    });
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-18', 'MUST set last to the newest seq the session produced: the stream\'s last event, or the newest appended when closed', async (ctx: CheckContext) => {
    for (const [stream, params, last] of [['ssp.counter', { count: 4 }, 4], ['ssp.fail', { after: 0 }, 0], ['ssp.fail', { after: 2 }, 2]] as const) {
      const session = await ctx.open(stream, params);
      const { events, termination } = await drain(ctx, session.body.sig);
      ctx.assert(termination.last === last && lastSeq(events) === last, `${stream} ${JSON.stringify(params)}: termination last ${termination.last} after event ${lastSeq(events)}, expected ${last}`);
    }
    // Closed after reading event 1 of 3 appended at once: events 2 and 3 are withheld, last is 3.
    const count = retainedAtMost(ctx, 3);
    const burst = await ctx.open('ssp.burst', { count });
    const seen = await ctx.poll(burst.body.sig, ctx.discovery.limits.maxHoldMs);
    expectBatch(ctx, seen, 'first poll of ssp.burst');
    const closed = expectTermination(ctx, await ctx.close(burst.body.sig), 'close of ssp.burst with events not yet acknowledged');
    ctx.assert(closed.reason !== 'closed' || closed.last === count, `closed ssp.burst of ${count} events: last ${closed.last}, expected ${count} (the newest event appended)`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-19', 'MUST NOT answer any request of a terminated session with a batch', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.counter', { count: 2 });
    const { termination } = await drain(ctx, session.body.sig);
    for (const [sig, what] of [[session.body.sig, 'the session message\'s signature'], [termination.sig, 'the termination\'s signature']] as const) {
      const answer = await ctx.poll(sig, 0);
      ctx.assert((answer.body as { type?: string }).type !== 'batch', `poll with ${what} after the ${termination.reason} termination: got a batch`);
    }
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-21', 'MUST NOT send a termination reason outside the registry', async (ctx: CheckContext) => {
    const known = new Set(['complete', 'closed', 'expired', 'error', 'revoked', 'shutdown']);
    const { termination } = await drain(ctx, (await ctx.open('ssp.fail', { after: 1 })).body.sig);
    const closed = expectTermination(ctx, await ctx.close((await ctx.open('ssp.ticker', { intervalMs: 60_000 })).body.sig), 'close');
    for (const reason of [termination.reason, closed.reason]) ctx.assert(known.has(reason), `termination reason ${JSON.stringify(reason)} is not registered`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-5', 'MUST terminate a finished stream with reason complete and advice none', async (ctx: CheckContext) => {
    const { termination } = await drain(ctx, (await ctx.open('ssp.counter', { count: 2 })).body.sig);
    ctx.assert(termination.reason === 'complete' && termination.advice.action === 'none', `finished stream: reason ${termination.reason}, advice ${JSON.stringify(termination.advice)}`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-6', 'MUST terminate a closed session with reason closed and advice none', async (ctx: CheckContext) => {
    const session = await openQuiet(ctx);
    const termination = expectTermination(ctx, await ctx.close(session.body.sig), 'close');
    ctx.assert(termination.reason === 'closed' && termination.advice.action === 'none', `closed session: reason ${termination.reason}, advice ${JSON.stringify(termination.advice)}`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-7', 'MUST terminate an expired session answered with a termination with reason expired and advice reopen', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.ticker', { intervalMs: 50 });
    await waitPastIdle(ctx);
    const answer = await ctx.poll(session.body.sig, 0);
    // The other allowed answer, 410 session-expired, is SSP-LIFETIME-5's business.
    if (answer.body.type === 'termination') {
      ctx.assert(answer.body.reason === 'expired' && answer.body.advice.action === 'reopen', `expired session: reason ${answer.body.reason}, advice ${JSON.stringify(answer.body.advice)}`);
    } else {
      ctx.assert(answer.body.type === 'error', `expired session: expected a termination or an error, got ${answer.status} ${answer.body.type}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-8', 'MUST terminate a failed stream with reason error, error.message and advice reopen or none', async (ctx: CheckContext) => {
    const message = 'conformance check failure 7';
    const { termination } = await drain(ctx, (await ctx.open('ssp.fail', { after: 1, message })).body.sig);
    ctx.assert(termination.reason === 'error', `failed stream: reason ${termination.reason}`);
    ctx.assert(typeof termination.error?.message === 'string' && termination.error.message !== '', `failed stream: error is ${JSON.stringify(termination.error ?? null)}`);
    ctx.assert(['reopen', 'none'].includes(termination.advice.action), `failed stream: advice ${JSON.stringify(termination.advice)}`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-12', 'MUST carry error in a termination only for reason error', async (ctx: CheckContext) => {
    const complete = (await drain(ctx, (await ctx.open('ssp.counter', { count: 1 })).body.sig)).termination;
    const closed = expectTermination(ctx, await ctx.close((await openQuiet(ctx)).body.sig), 'close');
    for (const termination of [complete, closed]) ctx.assert(termination.error === undefined, `termination ${termination.reason} carries error ${JSON.stringify(termination.error)}`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-13', 'MUST answer every later poll and close with any signature of the session with the identical termination', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.counter', { count: 2 });
    const { batches, termination } = await drain(ctx, session.body.sig);
    await assertRepeated(ctx, termination, termination.sig, 'poll', 'poll with the termination sig');
    await assertRepeated(ctx, termination, session.body.sig, 'poll', 'poll with the session sig');
    await assertRepeated(ctx, termination, batches[0]?.sig ?? session.body.sig, 'poll', 'poll with the first batch sig');
    await assertRepeated(ctx, termination, termination.sig, 'close', 'close with the termination sig');
    await assertRepeated(ctx, termination, session.body.sig, 'close', 'close with the session sig');
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-13/memory', 'MUST repeat the identical termination for at least terminationMemoryMs', async (ctx: CheckContext) => {
    const { terminationMemoryMs } = ctx.discovery.limits;
    const late: number[] = [];
    // A lagging runner (a loaded machine) may see the termination late, or send its poll late:
    // a forgotten termination proves a violation only if the whole span, from sending the poll
    // the termination answered to receiving the later answer, is shorter than the memory.
    // Otherwise that attempt proves nothing, and another is made.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const session = await ctx.open('ssp.counter', { count: 1 });
      const { termination, terminationPolledAt } = await drain(ctx, session.body.sig);
      const terminatedAt = performance.now();
      // Just inside the memory: the remembered termination wins even over an expired signature.
      await ctx.sleep(Math.max(0, terminationMemoryMs - ctx.tolerance) / ctx.timeoutScale);
      const sentAfter = Math.round(performance.now() - terminatedAt);
      const answer = await ctx.poll(termination.sig, 0);
      const span = Math.round(performance.now() - terminationPolledAt);
      if (answer.status !== 200 && span >= terminationMemoryMs - ctx.earlySlack) {
        late.push(span);
        continue;
      }
      const body = expectTermination(ctx, answer, `poll ${sentAfter} ms after the termination (terminationMemoryMs ${terminationMemoryMs}; ${span} ms from the poll it answered to this answer)`);
      ctx.assert(isDeepStrictEqual(body, termination), `poll ${sentAfter} ms after the termination: got ${JSON.stringify(body)}, expected the identical ${JSON.stringify(termination)}`);
      return;
    }
    throw new CheckNote(`the runner lagged: from the poll the termination answered to the answer of the later poll took ${late.join(', ')} ms, not shorter than terminationMemoryMs ${terminationMemoryMs}, so a forgotten termination proves nothing`);
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-14', 'MUST give a termination a signature of the terminated session', async (ctx: CheckContext) => {
    const message = 'conformance termination signature';
    const { termination } = await drain(ctx, (await ctx.open('ssp.fail', { after: 1, message })).body.sig);
    // Its sig leads back to this session's termination (not an error, not another session's).
    await assertRepeated(ctx, termination, termination.sig, 'poll', 'poll with the termination sig');
  }, { needs: ['annex'] }),
  check('SSP-TERMINATION-15', 'MUST advertise terminationMemoryMs of at least idleTimeoutMs + maxHoldMs', async (ctx: CheckContext) => {
    const { terminationMemoryMs, idleTimeoutMs, maxHoldMs } = ctx.discovery.limits;
    ctx.assert(terminationMemoryMs >= idleTimeoutMs + maxHoldMs, `terminationMemoryMs ${terminationMemoryMs} < idleTimeoutMs ${idleTimeoutMs} + maxHoldMs ${maxHoldMs}`);
  }),
];
