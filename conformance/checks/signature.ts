// Spec §8 Session signatures: well-formed; changed, truncated, malformed and never-issued
// signatures are 403 invalid-signature for poll and close; a signature names one session
// only; valid from the open on, for at least idleTimeoutMs, expired after idle + maxHold.
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import { expectBatch, expectErrorCode, expectTermination } from './answers.ts';
import { drain } from './drain.ts';
import { openQuiet, randomSignature } from './sessions.ts';

const pattern = /^[A-Za-z0-9_.~-]{16,2048}$/;

/** The signature with the character at `index` replaced by another valid one. */
function changeAt(sig: string, index: number): string {
  return sig.slice(0, index) + (sig[index] === 'A' ? 'B' : 'A') + sig.slice(index + 1);
}

/** Both poll and close with `sig` must be 403 invalid-signature. */
async function assertInvalid(ctx: CheckContext, sig: string, what: string): Promise<void> {
  for (const [verb, answer] of [['poll', await ctx.poll(sig, 0)], ['close', await ctx.close(sig)]] as const) {
    expectErrorCode(ctx, answer, 'invalid-signature', `${verb} with a ${what} signature`);
    ctx.assert(answer.status === 403, `${verb} with a ${what} signature: expected status 403, got ${answer.status}`);
  }
}

/**
 * The genuine signature still works after the forged ones were refused: its close is the
 * closed termination, or, when the runner took idleTimeoutMs to get there (its timers lag
 * on a loaded machine), the expired one.
 */
async function assertGenuineCloses(ctx: CheckContext, sig: string, openedAt: number, what: string): Promise<void> {
  const answer = await ctx.close(sig);
  const idle = performance.now() - openedAt >= ctx.discovery.limits.idleTimeoutMs - ctx.tolerance;
  const termination = expectTermination(ctx, answer, what);
  ctx.assert(termination.reason === 'closed' || (idle && termination.reason === 'expired'), `${what}: expected termination reason 'closed', got '${termination.reason}'`);
}

export const signatureChecks: Check[] = [
  check('SSP-SIGNATURE-1', 'MUST issue signatures matching ^[A-Za-z0-9_.~-]{16,2048}$', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.counter', { count: 1 });
    const { batches, termination } = await drain(ctx, session.body.sig);
    for (const [what, sig] of [['session', session.body.sig], ...batches.map((b, i) => [`batch ${i + 1}`, b.sig]), ['termination', termination.sig]]) {
      ctx.assert(pattern.test(sig!), `${what} signature ${JSON.stringify(sig)} does not match the signature pattern`);
    }
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-3', 'MUST answer a signature with any character changed with 403 invalid-signature', async (ctx: CheckContext) => {
    const openedAt = performance.now();
    const { sig } = (await openQuiet(ctx)).body;
    for (const [where, index] of [['first', 0], ['middle', Math.floor(sig.length / 2)], ['last', sig.length - 1]] as const) {
      await assertInvalid(ctx, changeAt(sig, index), `${where}-character-changed`);
    }
    await assertGenuineCloses(ctx, sig, openedAt, 'close with the genuine signature');
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-4', 'MUST answer a proper prefix of an issued signature with 403 invalid-signature', async (ctx: CheckContext) => {
    const openedAt = performance.now();
    const { sig } = (await openQuiet(ctx)).body;
    // Prefixes that still match the signature pattern (shorter ones are SSP-SIGNATURE-5's).
    for (const length of new Set([sig.length - 1, Math.max(16, Math.floor(sig.length / 2))])) {
      if (length < sig.length) await assertInvalid(ctx, sig.slice(0, length), `truncated-to-${length}-characters`);
    }
    await assertGenuineCloses(ctx, sig, openedAt, 'close with the genuine signature');
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-5', 'MUST answer a sig breaking the signature pattern with 403 invalid-signature', async (ctx: CheckContext) => {
    const sig = randomSignature(40);
    for (const [what, bad] of [['too short', 'abc'], ['with a space', `${sig.slice(0, 20)} ${sig.slice(21)}`], ['with a slash', `${sig.slice(0, 20)}/${sig.slice(21)}`], ['empty', '']]) {
      await assertInvalid(ctx, bad!, what!);
    }
  }),
  check('SSP-SIGNATURE-6', 'MUST answer a well-formed signature it never issued with 403 invalid-signature', async (ctx: CheckContext) => {
    const openedAt = performance.now();
    const first = (await openQuiet(ctx)).body.sig;
    const second = (await openQuiet(ctx)).body.sig;
    // Random content of a genuine length, and a splice of two genuine signatures.
    const half = Math.floor(Math.min(first.length, second.length) / 2);
    const spliced = first.slice(0, half) + second.slice(half);
    await assertInvalid(ctx, randomSignature(first.length), 'random');
    if (spliced !== first && spliced !== second) await assertInvalid(ctx, spliced, 'spliced-from-two-sessions');
    for (const sig of [first, second]) await assertGenuineCloses(ctx, sig, openedAt, 'close with a genuine signature');
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-7', 'MUST NOT answer a signature with another session\'s events, positions or terminations', async (ctx: CheckContext) => {
    // Two concurrent sessions told apart by their data: 2 events without pad, 3 with a pad of 7.
    const plain = await ctx.open('ssp.counter', { count: 2 });
    const padded = await ctx.open('ssp.counter', { count: 3, size: 7 });
    const [a, b] = await Promise.all([drain(ctx, plain.body.sig), drain(ctx, padded.body.sig)]);
    for (const event of a.events) ctx.assert((event.data as { pad?: unknown }).pad === undefined, `session (count 2) got another session's event ${JSON.stringify(event)}`);
    for (const event of b.events) ctx.assert((event.data as { pad?: unknown }).pad === 'x'.repeat(7), `session (count 3, size 7) got another session's event ${JSON.stringify(event)}`);
    ctx.assert(a.termination.last === 2, `session (count 2) got termination last ${a.termination.last}`);
    ctx.assert(b.termination.last === 3, `session (count 3) got termination last ${b.termination.last}`);
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-8', 'MUST accept the session signature in poll and close at once, before any event', async (ctx: CheckContext) => {
    const first = (await openQuiet(ctx)).body.sig;
    const batch = expectBatch(ctx, await ctx.poll(first, 0), 'poll with the session signature');
    ctx.assert(batch.events.length === 0, `no event exists yet, got ${batch.events.length}`);
    const second = (await openQuiet(ctx)).body.sig;
    expectTermination(ctx, await ctx.close(second), 'close with the session signature', 'closed');
    await ctx.close(batch.sig);
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-9', 'MUST accept a signature of a live session for at least idleTimeoutMs after sending it', async (ctx: CheckContext) => {
    const { idleTimeoutMs, maxHoldMs } = ctx.discovery.limits;
    const opened = (await openQuiet(ctx)).body.sig;
    // Keep the session alive with a held poll (its own fresh signature), then use the open one just before idleTimeoutMs.
    const wait = Math.max(0, idleTimeoutMs - ctx.tolerance / ctx.timeoutScale);
    let sig = opened;
    const started = performance.now();
    for (let polls = 0; polls < 20 && performance.now() - started < wait * ctx.timeoutScale; polls++) {
      const hold = Math.min(maxHoldMs, Math.ceil(wait * ctx.timeoutScale - (performance.now() - started)));
      sig = expectBatch(ctx, await ctx.poll(sig, Math.max(0, hold)), `keep-alive poll ${polls + 1}`).sig;
    }
    expectBatch(ctx, await ctx.poll(opened, 0), `poll with the ${Math.round(performance.now() - started)} ms old session signature`);
    await ctx.close(sig);
  }, { needs: ['annex'] }),
  check('SSP-SIGNATURE-10', 'MUST answer a signature sent more than idleTimeoutMs + maxHoldMs ago with 410 session-expired', async (ctx: CheckContext) => {
    // The session stays alive (polled with ever newer signatures) while its open signature ages.
    const { idleTimeoutMs, maxHoldMs } = ctx.discovery.limits;
    const opened = (await openQuiet(ctx)).body.sig;
    const started = performance.now();
    const expiresAfter = (idleTimeoutMs + maxHoldMs) * ctx.timeoutScale + ctx.tolerance;
    let sig = opened;
    for (let polls = 0; polls < 20 && performance.now() - started < expiresAfter; polls++) {
      const hold = Math.min(maxHoldMs, Math.ceil(expiresAfter - (performance.now() - started)));
      sig = expectBatch(ctx, await ctx.poll(sig, Math.max(0, hold)), `keep-alive poll ${polls + 1}`).sig;
    }
    ctx.assert(performance.now() - started >= expiresAfter, 'the keep-alive polls ended before the open signature expired');
    for (const [verb, answer] of [['poll', await ctx.poll(opened, 0)], ['close', await ctx.close(opened)]] as const) {
      expectErrorCode(ctx, answer, 'session-expired', `${verb} with the open signature after ${Math.round(performance.now() - started)} ms`);
      ctx.assert(answer.status === 410, `${verb} with an expired signature: expected status 410, got ${answer.status}`);
    }
    expectBatch(ctx, await ctx.poll(sig, 0), 'poll with the newest signature of the live session');
    await ctx.close(sig);
  }, { needs: ['annex'] }),
];
