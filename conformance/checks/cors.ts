// Spec §4.4 CORS. A server MAY restrict origins (SSP-CORS-1); these checks observe the
// rules for an origin it allows. A server that allows the runner's origin nowhere leaves
// them unobservable, reported as not testable, never passed silently.
import { check, NotTestable } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import { tokensOf } from './headers.ts';

const origin = 'https://conformance.xanjax.invalid';
const corsHeaders = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'vary'];

function preflight(ctx: CheckContext): Promise<RawAnswer> {
  return ctx.raw({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

/** What a browser sees cross-origin: discovery, a message answer, an error, a preflight. */
async function crossOriginAnswers(ctx: CheckContext): Promise<Array<[string, RawAnswer]>> {
  return [
    ['GET discovery', await ctx.raw({ method: 'GET', headers: { origin } })],
    ['POST open', await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: JSON.stringify({ ssp: 1, type: 'open', stream: 'conformance.no-such-stream' }) })],
    ['POST invalid JSON', await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: '{"ssp":1,' })],
    ['OPTIONS preflight', await preflight(ctx)],
  ];
}

/** The answers that allowed the origin; none → not testable. */
function allowed(answers: Array<[string, RawAnswer]>): Array<[string, RawAnswer]> {
  const result = answers.filter(([, answer]) => answer.headers['access-control-allow-origin'] !== undefined);
  if (result.length === 0) throw new NotTestable(`the server allows no request from origin ${origin} (no Access-Control-Allow-Origin)`);
  return result;
}

async function allowedPreflight(ctx: CheckContext): Promise<RawAnswer> {
  return allowed([['OPTIONS preflight', await preflight(ctx)]])[0]![1];
}

export const corsChecks: Check[] = [
  check('SSP-CORS-3', 'MUST send Access-Control-Allow-Origin as the exact request Origin or *', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(await crossOriginAnswers(ctx))) {
      const acao = answer.headers['access-control-allow-origin'];
      ctx.assert(acao === origin || acao === '*', `${what}: Access-Control-Allow-Origin must be ${origin} or *, got ${JSON.stringify(acao)}`);
    }
  }),
  check('SSP-CORS-4', 'MUST NOT send Access-Control-Allow-Origin * with Access-Control-Allow-Credentials: true', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(await crossOriginAnswers(ctx))) {
      if (answer.headers['access-control-allow-credentials']?.trim().toLowerCase() !== 'true') continue;
      const acao = answer.headers['access-control-allow-origin'];
      ctx.assert(acao === origin, `${what}: with credentials allowed, Access-Control-Allow-Origin must be ${origin}, got ${JSON.stringify(acao)}`);
    }
  }),
  check('SSP-CORS-5', 'MUST list Origin in Vary when Access-Control-Allow-Origin depends on the request Origin', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(await crossOriginAnswers(ctx))) {
      if (answer.headers['access-control-allow-origin']?.trim() === '*') continue;
      const vary = tokensOf(answer.headers.vary);
      ctx.assert(vary.includes('origin') || vary.includes('*'), `${what}: Access-Control-Allow-Origin echoes the origin but Vary is ${JSON.stringify(answer.headers.vary ?? null)}`);
    }
  }),
  check('SSP-CORS-6', 'MUST send the same CORS headers on error responses as on successful ones', async (ctx: CheckContext) => {
    const success = await ctx.raw({ method: 'GET', headers: { origin } });
    const failure = await ctx.raw({ method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: '{"ssp":1,' });
    allowed([['GET discovery', success], ['POST invalid JSON', failure]]);
    for (const name of corsHeaders) {
      const [ok, error] = [success.headers[name], failure.headers[name]];
      const same = name === 'vary' || name === 'access-control-expose-headers' ? tokensOf(ok).sort().join() === tokensOf(error).sort().join() : ok === error;
      ctx.assert(same, `${name}: ${JSON.stringify(ok ?? null)} on the discovery answer, ${JSON.stringify(error ?? null)} on the error answer`);
    }
  }),
  check('SSP-CORS-7', 'SHOULD list Retry-After in Access-Control-Expose-Headers for allowed origins', async (ctx: CheckContext) => {
    for (const [what, answer] of allowed(await crossOriginAnswers(ctx))) {
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
  check('SSP-CORS-11', 'SHOULD send Access-Control-Max-Age on a preflight answer', async (ctx: CheckContext) => {
    const answer = await allowedPreflight(ctx);
    ctx.assert(/^\d+$/.test(answer.headers['access-control-max-age']?.trim() ?? ''), `Access-Control-Max-Age is ${JSON.stringify(answer.headers['access-control-max-age'] ?? null)}`);
  }),
];
