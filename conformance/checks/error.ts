// Spec §15 Errors: every error response carries an error message whose code, HTTP status
// and `retryable` follow the registry (schemas/error-codes.json); errors change no session
// and the server goes on serving. Only the codes a request can trigger are exercised:
// too-many-sessions, unavailable and internal-error need server states no client can
// force (their registry entries say so).
import { check } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import type { ErrorCode, ErrorMessage } from '../../schemas/types.gen.ts';
import { errorCodeInfo } from '../../schemas/index.ts';
import { asAnswer, expectBatch, expectErrorCode, jsonOf } from './answers.ts';
import { drain, retainedAtMost } from './drain.ts';
import { openQuiet, randomSignature, waitPastIdle } from './sessions.ts';

const json = { 'content-type': 'application/json' };

function post(ctx: CheckContext, body: string, headers: Record<string, string> = json): Promise<RawAnswer> {
  return ctx.raw({ method: 'POST', headers, body });
}

/** A request that makes a conforming server answer each code. */
const triggers: Partial<Record<ErrorCode, (ctx: CheckContext) => Promise<RawAnswer>>> = {
  'bad-request': (ctx) => post(ctx, '{"ssp":1,'),
  'unsupported-version': (ctx) => post(ctx, JSON.stringify({ ssp: 2, type: 'open', stream: 'ssp.counter' })),
  'method-not-allowed': (ctx) => ctx.raw({ method: 'DELETE' }),
  'unsupported-media-type': (ctx) => post(ctx, JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter' }), { 'content-type': 'application/xml' }),
  'payload-too-large': (ctx) => post(ctx, JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter' }).padEnd(ctx.discovery.limits.maxBodyBytes + 1, ' ')),
  'unknown-stream': (ctx) => post(ctx, JSON.stringify({ ssp: 1, type: 'open', stream: 'conformance.no-such-stream' })),
  'invalid-params': (ctx) => post(ctx, JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 0 } })),
  'invalid-signature': (ctx) => post(ctx, JSON.stringify({ ssp: 1, type: 'poll', sig: randomSignature(43), hold: 0 })),
  'session-expired': async (ctx) => {
    // A session left idle past idleTimeoutMs, closed with its open signature.
    const session = await openQuiet(ctx);
    await waitPastIdle(ctx);
    return post(ctx, JSON.stringify({ ssp: 1, type: 'close', sig: session.body.sig }));
  },
};
// These need a session (an annex stream) to trigger.
const annexCodes: ReadonlySet<string> = new Set(['invalid-params', 'session-expired']);

/**
 * Trigger `code`. An expired session may instead be answered with termination expired
 * (SSP-LIFETIME-5): then there is no error whose status or retryable could be checked.
 */
async function triggered(ctx: CheckContext, code: ErrorCode): Promise<{ answer: RawAnswer; error: ErrorMessage } | undefined> {
  const answer = await triggers[code]!(ctx);
  const body = asAnswer(ctx, answer, code);
  if (code === 'session-expired' && body.body.type === 'termination' && body.body.reason === 'expired') return undefined;
  return { answer, error: expectErrorCode(ctx, body, code, `request meant to trigger ${code}`) };
}

export const errorChecks: Check[] = [
  check('SSP-ERROR-10', 'MUST carry an error message with a registered code in every error-status response', async (ctx: CheckContext) => {
    for (const code of Object.keys(triggers).filter((c) => !annexCodes.has(c) || ctx.discovery.conformance === true) as ErrorCode[]) {
      const answer = await triggers[code]!(ctx);
      if (answer.status < 400) continue;
      const body = asAnswer(ctx, answer, code).body as Partial<ErrorMessage>;
      ctx.assert(body.type === 'error' && typeof body.code === 'string' && body.code in errorCodeInfo, `status ${answer.status} (meant to trigger ${code}) carries ${JSON.stringify(body).slice(0, 200)}`);
    }
  }),
  ...Object.keys(triggers).map((code) =>
    check(`SSP-ERROR-2/${code}`, `MUST answer ${code} with HTTP status ${errorCodeInfo[code as ErrorCode].status}`, async (ctx: CheckContext) => {
      const result = await triggered(ctx, code as ErrorCode);
      if (result) ctx.assert(result.answer.status === errorCodeInfo[code as ErrorCode].status, `${code}: expected HTTP status ${errorCodeInfo[code as ErrorCode].status}, got ${result.answer.status}`);
    }, { needs: annexCodes.has(code) ? ['annex'] : [] }),
  ),
  ...Object.keys(triggers).map((code) =>
    check(`SSP-ERROR-3/${code}`, `MUST answer ${code} with retryable ${errorCodeInfo[code as ErrorCode].retryable}`, async (ctx: CheckContext) => {
      const result = await triggered(ctx, code as ErrorCode);
      if (result) ctx.assert(result.error.retryable === errorCodeInfo[code as ErrorCode].retryable, `${code}: expected retryable ${errorCodeInfo[code as ErrorCode].retryable}, got ${result.error.retryable}`);
    }, { needs: annexCodes.has(code) ? ['annex'] : [] }),
  ),
  check('SSP-ERROR-5', 'MUST leave every session unchanged by an error answer', async (ctx: CheckContext) => {
    // Errors aimed at a live session between its polls: it must deliver 1, 2, 3 as if they never happened.
    const count = retainedAtMost(ctx, 3);
    const expected = Array.from({ length: count }, (_, i) => i + 1).join();
    const session = await ctx.open('ssp.counter', { count });
    const { sig } = session.body;
    const bad: Array<[string, unknown]> = [
      ['poll of version 2', { ssp: 2, type: 'poll', sig }],
      ['poll with a string hold', { ssp: 1, type: 'poll', sig, hold: '0' }],
      ['close of version 2', { ssp: 2, type: 'close', sig }],
      ['close with a numeric sig', { ssp: 1, type: 'close', sig: 12345678901234567890 }],
    ];
    for (const [what, message] of bad) {
      const answer = await ctx.send(message);
      ctx.assert(answer.body !== null && (answer.body as { type?: unknown }).type === 'error', `${what}: expected an error, got ${answer.status} ${JSON.stringify(answer.body).slice(0, 120)}`);
    }
    const { events, termination } = await drain(ctx, sig);
    const seqs = events.map((event) => event.seq);
    ctx.assert(seqs.join() === expected && termination.reason === 'complete', `after the errors the session delivered ${JSON.stringify(seqs)} then ${termination.reason}; expected ${expected} then complete`);
  }, { needs: ['annex'] }),
  check('SSP-ERROR-6', 'MUST go on answering requests normally after a malformed request', async (ctx: CheckContext) => {
    await post(ctx, '{"ssp":1,');
    await post(ctx, '\u0000\u0001garbage', { 'content-type': 'text/plain' });
    await post(ctx, '['.repeat(ctx.discovery.limits.maxBodyBytes + 1));
    await ctx.raw({ method: 'POST', headers: json, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    const discovery = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET after malformed requests') as { type?: unknown };
    ctx.assert(discovery?.type === 'discovery', `GET after malformed requests: expected the discovery document, got ${JSON.stringify(discovery).slice(0, 120)}`);
    if (ctx.discovery.conformance === true) {
      const session = await openQuiet(ctx);
      const batch = expectBatch(ctx, await ctx.poll(session.body.sig, 0), 'poll after malformed requests');
      await ctx.close(batch.sig);
    }
  }),
];
