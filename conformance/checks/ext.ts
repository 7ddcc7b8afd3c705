// Spec §6.5 Extensions: unknown `ext` members change nothing (SSP-EXT-1), and the session
// answer lists only extensions the open asked for and discovery offers (SSP-EXT-2).
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import { unknownExt } from '../unknown-ext.ts';
import { expectBatch, expectTermination } from './answers.ts';

/** Extensions no server offers. */
const unknownExtensions = ['org.xanjax.conformance.never-offered', 'xanjax-conformance-unknown'];

export const extChecks: Check[] = [
  check('SSP-EXT-1', 'MUST process open, poll and close carrying unknown ext members as without them', async (ctx: CheckContext) => {
    // Processed as without them: a session (its position is SSP-OPEN-3's business), whose poll brings event 1.
    const opened = await ctx.send<{ type?: string; sig?: string }>({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 2 }, ext: unknownExt });
    ctx.assert(opened.status === 200 && opened.body.type === 'session', `open with unknown ext: expected 200 session, got ${opened.status} ${JSON.stringify(opened.body).slice(0, 200)}`);
    const sig = opened.body.sig ?? '';
    const polled = await ctx.send<{ type?: string; events?: Array<{ seq: number }>; sig?: string }>({ ssp: 1, type: 'poll', sig, hold: ctx.discovery.limits.maxHoldMs, ext: unknownExt });
    // With retainEvents 1, event 1 may already be evicted: a gap covering it is the legal answer.
    const first = polled.body.events?.[0]?.seq;
    const gap = (polled.body as { gap?: { from: number; to: number } }).gap;
    const startsRight = first === 1 || (gap?.from === 1 && first === gap.to + 1);
    ctx.assert(polled.status === 200 && polled.body.type === 'batch' && (polled.body.events?.length ?? 0) > 0 && startsRight, `poll with unknown ext: expected a batch starting at event 1 (or a gap from 1), got ${polled.status} ${JSON.stringify(polled.body).slice(0, 200)}`);
    const closed = await ctx.send<{ type?: string; reason?: string }>({ ssp: 1, type: 'close', sig: polled.body.sig ?? sig, ext: unknownExt });
    ctx.assert(closed.status === 200 && closed.body.type === 'termination', `close with unknown ext: expected 200 termination, got ${closed.status} ${JSON.stringify(closed.body).slice(0, 200)}`);
  }, { needs: ['annex'] }),
  check('SSP-EXT-2', 'MUST answer an open carrying extensions with a session listing only asked-for extensions the server offers', async (ctx: CheckContext) => {
    const offered = ctx.discovery.extensions ?? [];
    const asked = [...unknownExtensions, ...offered];
    const opened = await ctx.open('ssp.counter', { count: 1 });
    expectBatch(ctx, await ctx.poll(opened.body.sig, 0), 'poll of a session opened without extensions');
    const answer = await ctx.send<{ type?: string; extensions?: unknown; sig?: string }>({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 }, extensions: asked });
    ctx.assert(answer.status === 200 && answer.body.type === 'session', `open asking for ${JSON.stringify(asked)}: expected 200 session, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
    const accepted = answer.body.extensions;
    ctx.assert(Array.isArray(accepted), `open asking for ${JSON.stringify(asked)}: the session answer has no extensions list`);
    const stray = (accepted as unknown[]).filter((name) => typeof name !== 'string' || !asked.includes(name) || !offered.includes(name));
    ctx.assert(stray.length === 0, `the session answer lists ${JSON.stringify(stray)}, which the open did not ask for or discovery does not offer`);
    expectTermination(ctx, await ctx.close(answer.body.sig ?? ''), 'close', 'closed');
  }, { needs: ['annex'] }),
];
