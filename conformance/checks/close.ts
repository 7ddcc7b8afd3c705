// Spec §13 Close: a live session answers the closed termination (also to its held poll),
// any unexpired signature of the session may close it, a terminated session answers its
// existing termination, and a closed session never answers with a batch again.
import { assertTimely } from './timely.ts';
import { isDeepStrictEqual } from 'node:util';
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import { expectBatch, expectTermination } from './answers.ts';
import { drain } from './drain.ts';
import { elapsed, openQuiet } from './sessions.ts';

export const closeChecks: Check[] = [
  check('SSP-CLOSE-1', 'MUST answer close of a live session with 200 and the closed termination, advice none', async (ctx: CheckContext) => {
    const answer = await ctx.close((await openQuiet(ctx)).body.sig);
    const termination = expectTermination(ctx, answer, 'close', 'closed');
    ctx.assert(termination.advice.action === 'none', `closed must advise none, got ${JSON.stringify(termination.advice)}`);
  }, { needs: ['annex'] }),
  check('SSP-CLOSE-3', 'MUST answer a held poll of the session at once with the same closed termination on close', async (ctx: CheckContext) => {
    const { maxHoldMs } = ctx.discovery.limits;
    await assertTimely(ctx, 'the poll held during close (due at once after the close was sent)', async () => {
      const session = await openQuiet(ctx);
      const sent = performance.now();
      const held = ctx.poll(session.body.sig, maxHoldMs);
      await ctx.sleep(Math.min(200, Math.floor(maxHoldMs / 5)));
      const closeSentAfter = Math.round(performance.now() - sent);
      const closed = expectTermination(ctx, await ctx.close(session.body.sig), 'close', 'closed');
      const answer = await held;
      const termination = expectTermination(ctx, answer, 'the poll held during close', 'closed');
      ctx.assert(isDeepStrictEqual(termination, closed), `held poll got ${JSON.stringify(termination)}, close got ${JSON.stringify(closed)}`);
      return { ms: elapsed(answer), dueMs: closeSentAfter };
    });
  }, { needs: ['annex'] }),
  check('SSP-CLOSE-4', 'MUST answer close of an already terminated session with its existing termination', async (ctx: CheckContext) => {
    const { termination } = await drain(ctx, (await ctx.open('ssp.counter', { count: 1 })).body.sig);
    const answer = expectTermination(ctx, await ctx.close(termination.sig), 'close after complete', 'complete');
    ctx.assert(isDeepStrictEqual(answer, termination), `close got ${JSON.stringify(answer)}, the stream ended with ${JSON.stringify(termination)}`);
  }, { needs: ['annex'] }),
  check('SSP-CLOSE-5', 'MUST accept close with any unexpired signature of the session, not only the newest', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.ticker', { intervalMs: 10 });
    const batch = expectBatch(ctx, await ctx.poll(session.body.sig), 'first poll');
    ctx.assert(batch.events.length > 0, 'the ticker produced no event within the hold');
    expectTermination(ctx, await ctx.close(session.body.sig), 'close with the older session signature', 'closed');
  }, { needs: ['annex'] }),
  check('SSP-CLOSE-6', 'MUST NOT answer any signature of a closed session with a batch', async (ctx: CheckContext) => {
    // A ticker keeps producing unless close stops it.
    const session = await ctx.open('ssp.ticker', { intervalMs: 10 });
    const batch = expectBatch(ctx, await ctx.poll(session.body.sig), 'first poll');
    expectTermination(ctx, await ctx.close(batch.sig), 'close', 'closed');
    await ctx.sleep(50);
    for (const [what, sig] of [['newest', batch.sig], ['session', session.body.sig]] as const) {
      const answer = await ctx.poll(sig, 0);
      ctx.assert(answer.body.type !== 'batch', `poll with the ${what} signature after close got a batch of ${answer.body.type === 'batch' ? answer.body.events.length : 0} event(s)`);
    }
  }, { needs: ['annex'] }),
];
