// Spec §4.4 CORS. A server MAY restrict origins (SSP-CORS-1); most of these checks observe
// the rules for an origin it allows, sending ctx.origin (--origin). When the server allows
// that origin nowhere, they cannot apply: reported as notes saying so, never as passes or
// failures. SSP-CORS-4 and -8 bind every answer, allowed or not, and always run.
import { check, CheckNote } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import { tokensOf } from './headers.ts';
import { lastRaw } from './sessions.ts';

const corsHeaders = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'vary'];

function preflight(ctx: CheckContext): Promise<RawAnswer> {
  return ctx.raw({
    method: 'OPTIONS',
    headers: { origin: ctx.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

/** What a browser sees cross-origin: discovery, a message answer, an error, a preflight. */
async function crossOriginAnswers(ctx: CheckContext): Promise<Array<[string, RawAnswer]>> {
  const { origin } = ctx;
  return [
    ['GET discovery', await ctx.raw({ method: 'GET', headers: { origin } })],
    ['POST open', await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: JSON.stringify({ ssp: 1, type: 'open', stream: 'conformance.no-such-stream' }) })],
    ['POST invalid JSON', await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: '{"ssp":1,' })],
    ['OPTIONS preflight', await preflight(ctx)],
  ];
}

const allows = ([, answer]: [string, RawAnswer]) => answer.headers['access-control-allow-origin'] !== undefined;

/** The rules for allowed origins apply only if the server allows ctx.origin somewhere (SSP-CORS-1). */
function assertOriginAllowed(ctx: CheckContext, answers: Array<[string, RawAnswer]>): void {
  if (answers.some(allows)) return;
  throw new CheckNote(
    `not applicable: the server does not allow origin ${ctx.origin} (no Access-Control-Allow-Origin on ${answers.map(([what]) => what).join(', ')}; SSP-CORS-1 lets it restrict origins); pass --origin with an origin it allows to test CORS`,
  );
}

/** The answers that allowed the origin; none → a note (assertOriginAllowed). */
function allowed(ctx: CheckContext, answers: Array<[string, RawAnswer]>): Array<[string, RawAnswer]> {
  assertOriginAllowed(ctx, answers);
  return answers.filter(allows);
}

/** The preflight answer, once the origin is known to be allowed (on any answer: a preflight that drops it is still judged). */
async function allowedPreflight(ctx: CheckContext): Promise<RawAnswer> {
  const answers = await crossOriginAnswers(ctx);
  assertOriginAllowed(ctx, answers);
  return answers.find(([what]) => what === 'OPTIONS preflight')![1];
}

/**
 * A whole session from the origin: open, a poll held until an event, a hold-0 poll, close.
 * A browser page reads each of these answers only if it allows the origin.
 */
async function sessionAnswers(ctx: CheckContext): Promise<Array<[string, RawAnswer]>> {
  const headers = { origin: ctx.origin };
  const answers: Array<[string, RawAnswer]> = [];
  const opened = await ctx.send<{ type?: string; sig?: string }>({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 2, intervalMs: 300 } }, { headers });
  answers.push(['POST open (session)', lastRaw(ctx)]);
  if (opened.status !== 200 || typeof opened.body.sig !== 'string') ctx.fail(`open ssp.counter from origin ${ctx.origin}: expected 200 session, got ${opened.status} ${String(opened.body.type)}`);
  const held = await ctx.poll(opened.body.sig, ctx.discovery.limits.maxHoldMs, { headers });
  answers.push(['POST poll held until an event (batch)', lastRaw(ctx)]);
  const sig = held.body.type === 'batch' ? held.body.sig : opened.body.sig;
  await ctx.poll(sig, 0, { headers });
  answers.push(['POST poll with hold 0', lastRaw(ctx)]);
  await ctx.send({ ssp: 1, type: 'close', sig }, { headers });
  answers.push(['POST close (termination)', lastRaw(ctx)]);
  return answers;
}

export const corsChecks: Check[] = [
  check('SSP-CORS-6/session-answers', 'MUST send an allowed origin the CORS headers on its open, held poll and close answers too', async (ctx: CheckContext) => {
    const probes = await crossOriginAnswers(ctx);
    assertOriginAllowed(ctx, probes);
    const [, reference] = probes.find(allows)!;
    for (const [what, answer] of await sessionAnswers(ctx)) {
      for (const name of ['access-control-allow-origin', 'access-control-allow-credentials']) {
        ctx.assert(answer.headers[name] === reference.headers[name], `${what}: ${name} is ${JSON.stringify(answer.headers[name] ?? null)}, but the server sends ${JSON.stringify(reference.headers[name] ?? null)} to the same origin on its other answers: a browser page cannot read this one`);
      }
    }
  }, { needs: ['annex'] }),
  check('SSP-CORS-3', 'MUST send Access-Control-Allow-Origin as the exact request Origin or *', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(ctx, await crossOriginAnswers(ctx))) {
      const acao = answer.headers['access-control-allow-origin'];
      ctx.assert(acao === ctx.origin || acao === '*', `${what}: Access-Control-Allow-Origin must be ${ctx.origin} or *, got ${JSON.stringify(acao)}`);
    }
  }),
  check('SSP-CORS-4', 'MUST NOT send Access-Control-Allow-Origin * with Access-Control-Allow-Credentials: true', async (ctx: CheckContext) => {
    // Binds every answer carrying credentials, whether or not the origin is allowed.
    for (const [what, answer] of await crossOriginAnswers(ctx)) {
      if (answer.headers['access-control-allow-credentials']?.trim().toLowerCase() !== 'true') continue;
      const acao = answer.headers['access-control-allow-origin'];
      ctx.assert(acao === ctx.origin, `${what}: with credentials allowed, Access-Control-Allow-Origin must be ${ctx.origin}, got ${JSON.stringify(acao)}`);
    }
  }),
  check('SSP-CORS-5', 'MUST list Origin in Vary when Access-Control-Allow-Origin depends on the request Origin', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(ctx, await crossOriginAnswers(ctx))) {
      if (answer.headers['access-control-allow-origin']?.trim() === '*') continue;
      const vary = tokensOf(answer.headers.vary);
      ctx.assert(vary.includes('origin') || vary.includes('*'), `${what}: Access-Control-Allow-Origin echoes the origin but Vary is ${JSON.stringify(answer.headers.vary ?? null)}`);
    }
  }),
  check('SSP-CORS-6', 'MUST send the same CORS headers on error responses as on successful ones', async (ctx: CheckContext) => {
    const { origin } = ctx;
    const success = await ctx.raw({ method: 'GET', headers: { origin } });
    const failure = await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: '{"ssp":1,' });
    assertOriginAllowed(ctx, [['GET discovery', success], ['POST invalid JSON', failure]]);
    for (const name of corsHeaders) {
      const [ok, error] = [success.headers[name], failure.headers[name]];
      const same = name === 'vary' || name === 'access-control-expose-headers' ? tokensOf(ok).sort().join() === tokensOf(error).sort().join() : ok === error;
      ctx.assert(same, `${name}: ${JSON.stringify(ok ?? null)} on the discovery answer, ${JSON.stringify(error ?? null)} on the error answer`);
    }
  }),
  check('SSP-CORS-7', 'SHOULD list Retry-After in Access-Control-Expose-Headers for allowed origins', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(ctx, await crossOriginAnswers(ctx))) {
      if (what === 'OPTIONS preflight') continue;
      const exposed = tokensOf(answer.headers['access-control-expose-headers']);
      ctx.assert(exposed.includes('retry-after'), `${what}: Access-Control-Expose-Headers is ${JSON.stringify(answer.headers['access-control-expose-headers'] ?? null)}`);
    }
  }),
  check('SSP-CORS-8', 'MUST answer OPTIONS with 204 and no body', async (ctx: CheckContext) => {
    for (const [what, answer] of [['plain OPTIONS', await ctx.raw({ method: 'OPTIONS' })], ['preflight', await preflight(ctx)]] as const) {
      ctx.assert(answer.status === 204, `${what}: expected status 204, got ${answer.status}`);
      ctx.assert(answer.text === '', `${what}: expected no body, got ${JSON.stringify(answer.text.slice(0, 120))}`);
    }
  }),
  check('SSP-CORS-9', 'MUST list GET and POST in Access-Control-Allow-Methods of a preflight answer', async (ctx: CheckContext) => {
    const answer = await allowedPreflight(ctx);
    const methods = tokensOf(answer.headers['access-control-allow-methods']);
    ctx.assert(methods.includes('get') && methods.includes('post'), `Access-Control-Allow-Methods is ${JSON.stringify(answer.headers['access-control-allow-methods'] ?? null)}`);
  }),
  check('SSP-CORS-10', 'MUST list content-type in Access-Control-Allow-Headers of a preflight answer', async (ctx: CheckContext) => {
    const answer = await allowedPreflight(ctx);
    const headers = tokensOf(answer.headers['access-control-allow-headers']);
    ctx.assert(headers.includes('content-type'), `Access-Control-Allow-Headers is ${JSON.stringify(answer.headers['access-control-allow-headers'] ?? null)}`);
  }),
  check('SSP-CORS-12', 'SHOULD list the requested headers it accepts, such as authorization, in Access-Control-Allow-Headers', async (ctx: CheckContext) => {
    const answer = await ctx.raw({
      method: 'OPTIONS',
      headers: { origin: ctx.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    if (answer.headers['access-control-allow-origin'] === undefined) throw new CheckNote(`not applicable: the server does not allow origin ${ctx.origin} (no Access-Control-Allow-Origin on the preflight; SSP-CORS-1 lets it restrict origins); pass --origin with an origin it allows to test CORS`);
    const headers = tokensOf(answer.headers['access-control-allow-headers']);
    ctx.assert(headers.includes('authorization') || headers.includes('*'), `asked for authorization, content-type; Access-Control-Allow-Headers is ${JSON.stringify(answer.headers['access-control-allow-headers'] ?? null)}`);
  }),
  check('SSP-CORS-11', 'SHOULD send Access-Control-Max-Age on a preflight answer', async (ctx: CheckContext) => {
    const answer = await allowedPreflight(ctx);
    ctx.assert(/^\d+$/.test(answer.headers['access-control-max-age']?.trim() ?? ''), `Access-Control-Max-Age is ${JSON.stringify(answer.headers['access-control-max-age'] ?? null)}`);
  }),
];
