// Spec §14 Session lifetime: a session nobody polls expires idleTimeoutMs after its last
// answered request, never earlier and never while a poll is held; a poll or close of an
// expired session gets termination expired or 410 session-expired.
import { check, CheckNote } from '../check.ts';
import type { Answer, Check, CheckContext } from '../check.ts';
import type { ServerMessage } from '../../schemas/types.gen.ts';
import { expectBatch } from './answers.ts';
import { measuringStall } from './timely.ts';
import { openQuiet, waitPastIdle } from './sessions.ts';

function assertExpired(ctx: CheckContext, answer: Answer<ServerMessage>, what: string): void {
  const body = answer.body;
  const expired = (body.type === 'termination' && body.reason === 'expired' && answer.status === 200) || (body.type === 'error' && body.code === 'session-expired' && answer.status === 410);
  const got = body.type === 'termination' ? `termination ${body.reason}` : body.type === 'error' ? `error ${body.code}` : body.type;
  ctx.assert(expired, `${what}: expected termination expired or 410 session-expired, got ${answer.status} ${got}`);
}

export const lifetimeChecks: Check[] = [
  check('SSP-LIFETIME-1', 'MUST expire a session with no held poll idleTimeoutMs after its last answered request', async (ctx: CheckContext) => {
    // A ticker keeps producing: only expiry (not the end of the stream) can stop it.
    const session = await ctx.open('ssp.ticker', { intervalMs: 50 });
    await waitPastIdle(ctx);
    assertExpired(ctx, await ctx.poll(session.body.sig, 0), `poll after ${ctx.discovery.limits.idleTimeoutMs} ms idle`);
  }, { needs: ['annex'] }),
  check('SSP-LIFETIME-2', 'MUST NOT expire a session while a poll of it is held', async (ctx: CheckContext) => {
    const { idleTimeoutMs, maxHoldMs } = ctx.discovery.limits;
    const lead = Math.min(Math.floor(maxHoldMs / 2), 500);
    const late: string[] = [];
    // Start a full hold shortly before the idle deadline, so the deadline passes while it is
    // held. A runner whose timers lag may send it after the deadline: that attempt proves
    // nothing (as in SSP-LIFETIME-3), and another is made. So may one that sees the open's
    // answer late, or whose poll reaches the server late: the time its event loop lost while
    // the open and the poll were on their way counts as lag too (a server in the same
    // process, or on the same loaded machine, is ahead of the runner's view by about that).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const opening = await measuringStall(() => openQuiet(ctx));
      const openedAt = performance.now();
      await ctx.sleep(Math.max(0, idleTimeoutMs - lead));
      const sentAfter = Math.round(performance.now() - openedAt);
      const polling = await measuringStall(() => ctx.poll(opening.value.body.sig, maxHoldMs));
      const answer = polling.value;
      const lostMs = opening.lostMs + polling.lostMs;
      if (answer.body.type !== 'batch' && sentAfter + lostMs >= idleTimeoutMs - ctx.tolerance / 2) {
        late.push(lostMs > 0 ? `${sentAfter} (+${lostMs} lost)` : `${sentAfter}`);
        continue;
      }
      const held = expectBatch(ctx, answer, `poll held across the idle deadline (sent ${sentAfter} ms after the open was answered)`);
      expectBatch(ctx, await ctx.poll(held.sig, 0), 'poll right after the held one');
      await ctx.close(held.sig);
      return;
    }
    throw new CheckNote(`the runner's timers lagged: its polls left ${late.join(', ')} ms after the open was answered, too close to idleTimeoutMs ${idleTimeoutMs} to judge`);
  }, { needs: ['annex'] }),
  check('SSP-LIFETIME-3', 'MUST NOT expire a session earlier than idleTimeoutMs after its last answered request', async (ctx: CheckContext) => {
    const { idleTimeoutMs } = ctx.discovery.limits;
    const late: number[] = [];
    // A lagging runner (a loaded machine) may see the first answer late, or send its poll
    // late: an expiry proves a violation only if the whole span, from sending the first poll
    // (the server answered it later) to receiving the second answer, is shorter than
    // idleTimeoutMs. Otherwise that attempt proves nothing, and another is made.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const session = await openQuiet(ctx);
      const polledAt = performance.now();
      const first = expectBatch(ctx, await ctx.poll(session.body.sig, 0), 'first poll');
      const answeredAt = performance.now();
      await ctx.sleep(Math.max(0, idleTimeoutMs - ctx.tolerance) / ctx.timeoutScale);
      const sentAfter = Math.round(performance.now() - answeredAt);
      const answer = await ctx.poll(first.sig, 0);
      const span = Math.round(performance.now() - polledAt);
      if (answer.body.type !== 'batch' && span >= idleTimeoutMs - ctx.earlySlack) {
        late.push(span);
        continue;
      }
      const second = expectBatch(ctx, answer, `poll ${sentAfter} ms after the last answer (idleTimeoutMs ${idleTimeoutMs}; ${span} ms from sending the first poll to this answer)`);
      await ctx.close(second.sig);
      return;
    }
    throw new CheckNote(`the runner lagged: from sending the first poll to receiving the second answer took ${late.join(', ')} ms, not shorter than idleTimeoutMs ${idleTimeoutMs}, so an expiry proves nothing`);
  }, { needs: ['annex'] }),
  check('SSP-LIFETIME-5', 'MUST answer poll and close of an expired session with termination expired or 410 session-expired', async (ctx: CheckContext) => {
    const first = await ctx.open('ssp.ticker', { intervalMs: 50 });
    const second = await ctx.open('ssp.ticker', { intervalMs: 50 });
    await waitPastIdle(ctx);
    assertExpired(ctx, await ctx.close(first.body.sig), 'close of an expired session');
    assertExpired(ctx, await ctx.poll(second.body.sig, 0), 'poll of an expired session');
    assertExpired(ctx, await ctx.close(second.body.sig), 'close after that poll');
  }, { needs: ['annex'] }),
];
