// Shutdown, restart and resume (spec §8.4, §12, §18.4), observable only when the runner
// starts the server itself (--server-command): held polls at SIGTERM, requests during the
// shutdown, resumption with kept keys (SIGTERM and SIGKILL), and terminated sessions that
// must never come back. Without the option each is a note saying so, never a pass.
import { isDeepStrictEqual } from 'node:util';
import { check, CheckNote } from '../check.ts';
import type { Answer, Check, CheckContext } from '../check.ts';
import type { ServerMessage, SessionMessage, TerminationMessage } from '../../schemas/types.gen.ts';
import { expectBatch, expectTermination } from './answers.ts';
import { drain, lastSeq, readEvents } from './drain.ts';
import { openQuiet, waitPastIdle } from './sessions.ts';

const needs = { needs: ['annex', 'server-command'] as Array<'annex' | 'server-command'>, exclusive: true };

/** Stop the server with `signal` and start it again; fails the check if it does not come back within the runner's bound. */
async function restart(ctx: CheckContext, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const server = ctx.server!;
  await server.stop(signal);
  try {
    restarts.set(ctx, await server.start());
  } catch (error) {
    ctx.fail(`after ${signal} the server did not come back: ${(error as Error).message}`);
  }
}

/** How long the server took to serve discovery again, per check (for the notes below). */
const restarts = new WeakMap<CheckContext, number>();

/** The shutdown termination a held poll got on SIGTERM, with the poll's position. */
interface Shutdown {
  termination: TerminationMessage;
  /** When the termination arrived (performance.now()). */
  at: number;
  position: number;
  count: number;
  /** Answers to requests sent after SIGTERM, before the server exited. */
  during: Array<Answer<ServerMessage> | string>;
}

/**
 * A counter whose second event is due long after the first: read event 1, hold a poll at
 * position 1, SIGTERM the server while it is held (and keep sending `open`s until it exits),
 * then start it again.
 */
async function shutDownWhileHeld(ctx: CheckContext, unanswered: 'fail' | 'note' = 'fail'): Promise<Shutdown> {
  const { maxHoldMs } = ctx.discovery.limits;
  const count = 3;
  const session = await ctx.open('ssp.counter', { count, intervalMs: Math.max(300, Math.floor(maxHoldMs / 2)) });
  const first = expectBatch(ctx, await ctx.poll(session.body.sig, maxHoldMs), 'poll for event 1');
  const position = lastSeq(first.events);
  ctx.assert(position === 1, `expected event 1 first, got ${JSON.stringify(first.events.map((e) => e.seq))}`);
  const held = ctx.poll(first.sig, maxHoldMs);
  await ctx.sleep(100);
  const server = ctx.server!;
  const stopped = server.stop('SIGTERM');
  let exited = false;
  void stopped.then(() => (exited = true));
  const answer = await held.catch((error: unknown) => error as Error);
  const answeredAt = performance.now();
  // The held poll's shutdown answer shows the shutdown has begun: every request from then
  // on, until the server exits, is judged (SSP-TERMINATION-20).
  const during: Shutdown['during'] = [];
  while (!exited && !(answer instanceof Error) && during.length < 20) {
    try {
      during.push(await ctx.send({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } }, { timeoutMs: 2000 }));
    } catch (error) {
      during.push((error as Error).message);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stopped;
  const restartedAt = performance.now();
  try {
    await server.start();
  } catch (error) {
    ctx.fail(`after SIGTERM the server did not come back: ${(error as Error).message}`);
  }
  restarts.set(ctx, Math.round(performance.now() - restartedAt));
  if (answer instanceof Error) {
    const message = `the poll held at SIGTERM got no answer: ${answer.message}`;
    // A check that judges only what a shutdown answer says has nothing to judge without one
    // (SSP-TERMINATION-9 fails the missing answer itself).
    if (unanswered === 'note') throw new CheckNote(`${message}; nothing to judge here (SSP-TERMINATION-9 judges the missing answer)`);
    ctx.fail(message);
  }
  const termination = expectTermination(ctx, answer, 'the poll held when the server got SIGTERM', 'shutdown');
  return { termination, at: answeredAt, position, count, during };
}

/**
 * Whether a pre-restart signature can still be judged: SSP-SIGNATURE-14 lets a server refuse
 * them all, and a signature is valid only idleTimeoutMs after it was sent (SIGNATURE-9/10),
 * so a restart slower than that leaves nothing to resume.
 */
function assertResumes(ctx: CheckContext, answer: Answer<ServerMessage>, what: string, sigAt: number): void {
  const body = answer.body as { type?: string; code?: string };
  const age = Math.round(performance.now() - sigAt);
  const { idleTimeoutMs } = ctx.discovery.limits;
  if (answer.status === 410 && body.code === 'session-expired' && age > idleTimeoutMs * ctx.timeoutScale - ctx.tolerance) {
    throw new CheckNote(`${what}: 410 session-expired, ${age} ms after the signature was sent (the restart took ${restarts.get(ctx) ?? '?'} ms), while a signature need only be valid for idleTimeoutMs ${idleTimeoutMs}: start the server faster or with a longer idleTimeoutMs to observe resumption`);
  }
  if (answer.status === 503 && body.code === 'unavailable') {
    throw new CheckNote(`${what}: 503 unavailable: the server waits out pre-restart signatures (SSP-SIGNATURE-14, second means), so no session survives its restarts and resumption cannot be observed`);
  }
  if (answer.status === 403 && body.code === 'invalid-signature') {
    throw new CheckNote(`${what}: 403 invalid-signature: the server accepts no signature from before its restart (SSP-SIGNATURE-14, third means: a new key), so resumption cannot be observed; restart it with its keys kept`);
  }
}

/** Read from `sig` after a restart: exactly the events after `position`, each once, then `complete`. */
async function assertResumedExactly(ctx: CheckContext, sig: string, sigAt: number, position: number, count: number, what: string): Promise<void> {
  const answer = await ctx.poll(sig, 0);
  assertResumes(ctx, answer, what, sigAt);
  const rest = answer.status === 200 && answer.body.type === 'termination' ? { events: [], termination: answer.body } : await drain(ctx, sig);
  const seqs = rest.events.map((event) => event.seq);
  const expected = Array.from({ length: count - position }, (_, i) => position + 1 + i);
  ctx.assert(seqs.join() === expected.join(), `${what}: after position ${position} the resumed session delivered ${JSON.stringify(seqs)}; expected each of ${JSON.stringify(expected)} exactly once`);
  for (const event of rest.events) ctx.assert((event.data as { n?: unknown }).n === event.seq, `${what}: resumed event ${event.seq} carries n ${JSON.stringify((event.data as { n?: unknown }).n)}`);
  ctx.assert(rest.termination.reason === 'complete' && rest.termination.last === count, `${what}: the resumed session ended with ${rest.termination.reason} last ${rest.termination.last}, expected complete last ${count}`);
}

/** Sessions terminated before a restart, with a signature of each and the termination it got. */
async function terminatedSessions(ctx: CheckContext): Promise<Array<{ what: string; sigs: string[]; termination: TerminationMessage }>> {
  const closedSession = await ctx.open('ssp.counter', { count: 3, intervalMs: 10_000 });
  const closed = expectTermination(ctx, await ctx.close(closedSession.body.sig), 'close', 'closed');
  const completeSession = await ctx.open('ssp.counter', { count: 2 });
  const { termination: complete } = await drain(ctx, completeSession.body.sig);
  ctx.assert(complete.reason === 'complete', `ssp.counter {count: 2} ended with ${complete.reason}`);
  const expiredSession: Answer<SessionMessage> = await openQuiet(ctx);
  await waitPastIdle(ctx);
  const expired = expectTermination(ctx, await ctx.poll(expiredSession.body.sig, 0), 'poll after the idle timeout', 'expired');
  return [
    { what: 'closed ssp.counter {count: 3}', sigs: [closedSession.body.sig, closed.sig], termination: closed },
    { what: 'completed ssp.counter {count: 2}', sigs: [completeSession.body.sig, complete.sig], termination: complete },
    { what: 'expired ssp.ticker', sigs: [expiredSession.body.sig, expired.sig], termination: expired },
  ];
}

export const restartChecks: Check[] = [
  check('SSP-TERMINATION-9', 'MUST answer a held poll with the shutdown termination, advice resume, when the server shuts down', async (ctx: CheckContext) => {
    const { termination } = await shutDownWhileHeld(ctx);
    ctx.assert(termination.advice.action === 'resume', `shutdown termination advises ${JSON.stringify(termination.advice)}, expected action resume`);
  }, needs),
  check('SSP-TERMINATION-10', 'MUST give the shutdown termination a sig at the held poll\'s position (resuming there after the restart)', async (ctx: CheckContext) => {
    const { termination, at, position, count } = await shutDownWhileHeld(ctx);
    await assertResumedExactly(ctx, termination.sig, at, position, count, 'polling with the shutdown termination\'s sig after the restart');
  }, needs),
  check('SSP-TERMINATION-11', 'SHOULD carry advice.delayMs in the shutdown termination', async (ctx: CheckContext) => {
    const { termination } = await shutDownWhileHeld(ctx);
    ctx.assert(typeof termination.advice.delayMs === 'number', `shutdown termination advice ${JSON.stringify(termination.advice)} has no delayMs`);
  }, needs),
  check('SSP-TERMINATION-20', 'MUST answer requests during shutdown with 503 unavailable, retryAfterMs at least the shutdown delayMs', async (ctx: CheckContext) => {
    const { termination, during } = await shutDownWhileHeld(ctx);
    const answered = during.filter((answer): answer is Answer<ServerMessage> => typeof answer !== 'string');
    if (answered.length === 0) throw new CheckNote(`no request sent after SIGTERM was answered before the server exited (${String(during[0] ?? 'none sent')}): nothing to judge`);
    const delayMs = termination.advice.delayMs ?? 0;
    for (const answer of answered) {
      const body = answer.body as { type?: string; code?: string; retryAfterMs?: number };
      ctx.assert(answer.status === 503 && body.code === 'unavailable', `an open sent after SIGTERM was answered ${answer.status} ${String(body.type)} ${String(body.code ?? '')}, expected 503 unavailable`);
      ctx.assert((body.retryAfterMs ?? -1) >= delayMs, `503 unavailable during shutdown carries retryAfterMs ${String(body.retryAfterMs)}, below the shutdown termination's delayMs ${delayMs}`);
    }
  }, needs),
  check('SSP-LIFETIME-7', 'MUST NOT ask a poll to wait more than half of idleTimeoutMs: the shutdown advice, and any retryAfterMs after the restart', async (ctx: CheckContext) => {
    const half = ctx.discovery.limits.idleTimeoutMs / 2;
    const { termination } = await shutDownWhileHeld(ctx, 'note');
    const { delayMs } = termination.advice;
    ctx.assert(delayMs === undefined || delayMs <= half, `the shutdown termination answering a held poll advises delayMs ${String(delayMs)}, more than half of idleTimeoutMs (${half}): a client that waits as told finds its session expired`);
    // After the restart the server may resume the session, or refuse it for a while (SSP-SIGNATURE-14).
    const answer = await ctx.poll(termination.sig, 0);
    const { retryAfterMs } = answer.body as { retryAfterMs?: number };
    ctx.assert(retryAfterMs === undefined || retryAfterMs <= half, `a poll after the restart was answered ${answer.status} with retryAfterMs ${String(retryAfterMs)}, more than half of idleTimeoutMs (${half})`);
  }, needs),
  check('SSP-SIGNATURE-11', 'MUST resume a resumable session after a restart (SIGKILL) with kept keys: every event exactly once', async (ctx: CheckContext) => {
    const count = 4;
    const session = await ctx.open('ssp.counter', { count, intervalMs: 200 });
    const first = expectBatch(ctx, await ctx.poll(session.body.sig), 'poll for the first event');
    const sigAt = performance.now();
    const position = lastSeq(first.events);
    ctx.assert(position >= 1 && position < count, `first poll: expected the first of ${count} events, got ${JSON.stringify(first.events.map((e) => e.seq))}`);
    await restart(ctx, 'SIGKILL');
    await assertResumedExactly(ctx, first.sig, sigAt, position, count, 'polling with the newest sig after SIGKILL and restart');
  }, needs),
  check('SSP-SIGNATURE-13', 'MUST answer close of a resumable session lost in a restart as if it existed: closed termination', async (ctx: CheckContext) => {
    const session = await openQuiet(ctx);
    const sigAt = performance.now();
    await restart(ctx, 'SIGKILL');
    const answer = await ctx.close(session.body.sig);
    assertResumes(ctx, answer, 'close after the restart', sigAt);
    const termination = expectTermination(ctx, answer, 'close of a resumable session lost in the restart', 'closed');
    ctx.assert(termination.advice.action === 'none', `closed advises ${JSON.stringify(termination.advice)}`);
  }, needs),
  check('SSP-SIGNATURE-12', 'MUST answer a poll of a non-resumable session lost in a restart with 410 session-expired', async (ctx: CheckContext) => {
    const stream = ctx.discovery.streams.find((entry) => entry.name.startsWith('ssp.') && entry.resumable !== true);
    if (!stream) throw new CheckNote('the server offers no non-resumable annex stream');
    const params = stream.name === 'ssp.fail' ? { after: 3 } : { count: 3 };
    const session = await ctx.open(stream.name, params);
    // Its three events read, its end not yet: a server that keeps sessions in a durable log
    // answers the next poll after the restart with the end, one that lost it with 410.
    const read = await readEvents(ctx, session.body.sig, 3);
    await restart(ctx, 'SIGKILL');
    const answer = await ctx.poll(read.sig, 0);
    const body = answer.body as { type?: string; code?: string };
    // Refusing every pre-restart signature (SIGNATURE-14) is also legal for a lost session.
    if ((answer.status === 503 && body.code === 'unavailable') || (answer.status === 403 && body.code === 'invalid-signature')) return;
    if (answer.status === 200 && body.type === 'termination') {
      throw new CheckNote(`the ${stream.name} session was not lost in the restart (the poll after it got the stream's end, termination ${String((body as { reason?: string }).reason)}: the server keeps sessions across restarts), so there was no lost session to observe SSP-SIGNATURE-12 with`);
    }
    ctx.assert(answer.status === 410 && body.code === 'session-expired', `poll of a ${stream.name} session lost in the restart: expected 410 session-expired, got ${answer.status} ${String(body.type)} ${String(body.code ?? '')}`);
  }, needs),
  check('SSP-DELIVERY-13', 'MUST answer a poll at p, when the server retains no event after p, with a gap from p + 1 to the newest event, without events', async (ctx: CheckContext) => {
    // Events 1 and 2 read, then a restart: the poll at 2 re-creates the session there, so a
    // poll at 1 finds event 2 gone and, until event 3 is due (SSP-ANNEX-8: not before
    // intervalMs after the re-creation), no event after 1 retained. (A server that keeps the
    // session's events across the restart still has event 2: nothing to judge then.)
    const intervalMs = 1500;
    const session = await ctx.open('ssp.counter', { count: 4, intervalMs });
    const first = await readEvents(ctx, session.body.sig, 1);
    ctx.assert(lastSeq(first.events) === 1, `expected event 1 alone first, got ${JSON.stringify(first.events.map((e) => e.seq))}`);
    const sig1 = first.sig;
    const sig1At = performance.now();
    const second = await readEvents(ctx, sig1, 1);
    ctx.assert(lastSeq(second.events) === 2, `expected event 2 next, got ${JSON.stringify(second.events.map((e) => e.seq))}`);
    const sig2 = second.sig;
    const sigAt = performance.now();
    await restart(ctx, 'SIGKILL');
    const recreated = await ctx.poll(sig2, 0);
    assertResumes(ctx, recreated, 'poll at position 2 after SIGKILL and restart', sigAt);
    expectBatch(ctx, recreated, 'poll at position 2 after the restart (re-creating the session there)');
    const started = performance.now();
    const answer = await ctx.poll(sig1, 0);
    assertResumes(ctx, answer, 'poll at position 1 after the restart', sig1At);
    const batch = expectBatch(ctx, answer, 'poll at position 1 after the session was re-created at position 2');
    if (batch.events[0]?.seq === 2 && batch.gap === undefined) {
      throw new CheckNote('after the restart the server still had event 2 (it keeps sessions\' events across restarts), so no event after position 1 was gone: SSP-DELIVERY-13 cannot be observed this way');
    }
    if (batch.events.length > 0 && performance.now() - started > intervalMs - ctx.tolerance) throw new CheckNote(`the poll at position 1 came ${Math.round(performance.now() - started)} ms after the re-creation, when event 3 may exist: nothing to judge`);
    ctx.assert(batch.gap?.from === 2 && batch.gap.to === 2 && batch.events.length === 0, `poll at position 1 (event 2 gone with the re-creation at 2, no event after it yet): got gap ${JSON.stringify(batch.gap ?? null)} and events ${JSON.stringify(batch.events.map((e) => e.seq))}, expected gap {from: 2, to: 2} and no events`);
    const next = await readEvents(ctx, batch.sig, 1);
    ctx.assert(next.events[0]?.seq === 3, `the gap batch's sig should continue from 2: the next poll brought ${JSON.stringify(next.events.map((e) => e.seq))}, expected event 3 first`);
  }, needs),
  check('SSP-SIGNATURE-14', 'MUST NOT re-create after a restart a session closed, completed or expired before it', async (ctx: CheckContext) => {
    const sessions = await terminatedSessions(ctx);
    const sigAt = performance.now();
    await restart(ctx, 'SIGTERM');
    const expiredOnly: string[] = [];
    for (const { what, sigs, termination } of sessions) {
      for (const sig of sigs) {
        const answer = await ctx.poll(sig, 0);
        const body = answer.body as { type?: string; code?: string };
        if (answer.status === 200 && body.type === 'termination') {
          ctx.assert(isDeepStrictEqual(answer.body, termination), `${what}: after the restart a poll got ${JSON.stringify(answer.body)}, not the termination it had before, ${JSON.stringify(termination)}`);
          continue;
        }
        ctx.assert(body.type !== 'batch', `${what}: after the restart a poll with one of its signatures got a batch (${JSON.stringify(answer.body).slice(0, 200)}): the terminated session was re-created`);
        if (answer.status === 410 && body.code === 'session-expired') expiredOnly.push(what);
        const refusal = (answer.status === 503 && body.code === 'unavailable') || (answer.status === 403 && body.code === 'invalid-signature') || (answer.status === 410 && body.code === 'session-expired');
        ctx.assert(refusal, `${what}: after the restart a poll got ${answer.status} ${String(body.type)} ${String(body.code ?? '')}: expected its termination, 503 unavailable, 403 invalid-signature or 410 session-expired`);
      }
    }
    // Expired signatures prove nothing about restart safety.
    const age = Math.round(performance.now() - sigAt);
    if (expiredOnly.length === 2 * sessions.length && age > ctx.discovery.limits.idleTimeoutMs * ctx.timeoutScale - ctx.tolerance) {
      throw new CheckNote(`every signature was answered 410 session-expired ${age} ms after it was sent (the restart took ${restarts.get(ctx) ?? '?'} ms, idleTimeoutMs is ${ctx.discovery.limits.idleTimeoutMs}): start the server faster or with a longer idleTimeoutMs to observe restart safety`);
    }
  }, needs),
];
