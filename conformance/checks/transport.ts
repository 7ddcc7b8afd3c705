// Spec §4 Transport: POST media types, no-store and the JSON content type on every answer,
// 405 for other methods, 413 for bodies over maxBodyBytes, status 200 for non-errors.
import { check } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import { asAnswer, expectBatch, expectErrorCode, expectTermination, jsonOf } from './answers.ts';
import { assertJsonContentType, assertNoStore, tokensOf } from './headers.ts';
import { postPartialBody } from './partial-body.ts';
import { lastRaw, openQuiet } from './sessions.ts';

const openCounter = JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } });

/** POST `body` with this Content-Type (undefined: none at all; a byte body keeps the client from adding one). */
function post(ctx: CheckContext, contentType: string | undefined, body: string = openCounter): Promise<RawAnswer> {
  return ctx.raw({ method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, body: new TextEncoder().encode(body) });
}

async function assertAccepted(ctx: CheckContext, contentType: string): Promise<void> {
  const opened = await post(ctx, contentType);
  const session = jsonOf(ctx, opened, `open sent as ${contentType}`) as { type?: string; sig?: string };
  ctx.assert(opened.status === 200 && session.type === 'session' && session.sig, `open sent as '${contentType}': expected 200 session, got ${opened.status} ${String(session.type)}`);
  const polled = await post(ctx, contentType, JSON.stringify({ ssp: 1, type: 'poll', sig: session.sig }));
  const batch = jsonOf(ctx, polled, `poll sent as ${contentType}`) as { type?: string };
  ctx.assert(polled.status === 200 && batch.type === 'batch', `poll sent as '${contentType}': expected 200 batch, got ${polled.status} ${String(batch.type)}`);
}

function rejects(contentType: string | undefined) {
  return async (ctx: CheckContext) => {
    const what = contentType === undefined ? 'POST without Content-Type' : `POST with Content-Type '${contentType}'`;
    const answer = await post(ctx, contentType);
    expectErrorCode(ctx, asAnswer(ctx, answer, what), 'unsupported-media-type', what);
    ctx.assert(answer.status === 415, `${what}: expected status 415, got ${answer.status}`);
  };
}

/** One answer of each kind the endpoint gives, for the rules that hold for every response. */
const answerKinds: Record<string, (ctx: CheckContext) => Promise<RawAnswer>> = {
  discovery: (ctx) => ctx.raw({ method: 'GET' }),
  session: async (ctx) => {
    await openQuiet(ctx);
    return lastRaw(ctx);
  },
  batch: async (ctx) => {
    const session = await openQuiet(ctx);
    expectBatch(ctx, await ctx.poll(session.body.sig, 0), 'poll with hold 0');
    return lastRaw(ctx);
  },
  termination: async (ctx) => {
    const session = await openQuiet(ctx);
    expectTermination(ctx, await ctx.close(session.body.sig), 'close', 'closed');
    return lastRaw(ctx);
  },
  error: (ctx) => post(ctx, 'application/json', '{"ssp":1,'),
  'method-not-allowed': (ctx) => ctx.raw({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: openCounter }),
  preflight: (ctx) =>
    ctx.raw({
      method: 'OPTIONS',
      headers: { origin: ctx.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    }),
};
const annexKinds = new Set(['session', 'batch', 'termination']);

export const transportChecks: Check[] = [
  check('SSP-TRANSPORT-1', 'MUST accept a client message POSTed as application/json', (ctx: CheckContext) => assertAccepted(ctx, 'application/json'), { needs: ['annex'] }),
  check('SSP-TRANSPORT-2', 'MUST accept and process a client message POSTed as text/plain like application/json', (ctx: CheckContext) => assertAccepted(ctx, 'text/plain'), { needs: ['annex'] }),
  check('SSP-TRANSPORT-3', 'MUST accept either media type with charset=utf-8, compared case-insensitively, quoted or not', async (ctx: CheckContext) => {
    for (const contentType of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'text/plain; charset=Utf-8', 'TEXT/PLAIN; charset="UTF-8"']) await assertAccepted(ctx, contentType);
  }, { needs: ['annex'] }),
  check('SSP-TRANSPORT-11', 'MUST ignore media type parameters other than charset', async (ctx: CheckContext) => {
    await assertAccepted(ctx, 'application/json; profile="urn:example:x"');
    await assertAccepted(ctx, 'application/json; v=1');
  }, { needs: ['annex'] }),
  check('SSP-TRANSPORT-4/missing', 'MUST answer a POST without Content-Type with 415 unsupported-media-type', rejects(undefined)),
  check('SSP-TRANSPORT-4/other-type', 'MUST answer a POST of another media type with 415 unsupported-media-type', rejects('application/xml')),
  check('SSP-TRANSPORT-4/other-charset', 'MUST answer a POST with a charset other than utf-8 with 415 unsupported-media-type', rejects('application/json; charset=iso-8859-1')),
  ...Object.entries(answerKinds).map(([kind, get]) =>
    check(`SSP-TRANSPORT-5/${kind}`, `MUST send Cache-Control: no-store on the ${kind} response`, async (ctx: CheckContext) => assertNoStore(ctx, await get(ctx), `${kind} response`), {
      needs: annexKinds.has(kind) ? ['annex'] : [],
    }),
  ),
  ...Object.entries(answerKinds)
    .filter(([kind]) => kind !== 'preflight')
    .map(([kind, get]) =>
      check(`SSP-TRANSPORT-6/${kind}`, `MUST send Content-Type application/json; charset=utf-8 on the ${kind} response`, async (ctx: CheckContext) => assertJsonContentType(ctx, await get(ctx), `${kind} response`), {
        needs: annexKinds.has(kind) ? ['annex'] : [],
      }),
    ),
  check('SSP-TRANSPORT-14', 'MUST answer other methods with 405 method-not-allowed and Allow: GET, HEAD, POST, OPTIONS', async (ctx: CheckContext) => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const answer = await ctx.raw({ method, headers: { 'content-type': 'application/json' }, body: openCounter });
      expectErrorCode(ctx, asAnswer(ctx, answer, method), 'method-not-allowed', method);
      ctx.assert(answer.status === 405, `${method}: expected status 405, got ${answer.status}`);
      const allow = tokensOf(answer.headers.allow);
      ctx.assert(['get', 'head', 'post', 'options'].every((m) => allow.includes(m)), `${method}: Allow must list GET, HEAD, POST, OPTIONS, got ${JSON.stringify(answer.headers.allow ?? null)}`);
    }
  }),
  check('SSP-TRANSPORT-8', 'MUST answer a body over maxBodyBytes with 413 payload-too-large', async (ctx: CheckContext) => {
    // A valid open padded with JSON whitespace to one byte over the limit: only the size is wrong.
    const body = openCounter.padEnd(ctx.discovery.limits.maxBodyBytes + 1, ' ');
    const answer = await post(ctx, 'application/json', body);
    expectErrorCode(ctx, asAnswer(ctx, answer, 'oversize body'), 'payload-too-large', `body of ${body.length} bytes`);
    ctx.assert(answer.status === 413, `body of ${body.length} bytes: expected status 413, got ${answer.status}`);
  }),
  check('SSP-TRANSPORT-9', 'MUST answer 413 once maxBodyBytes + 1 bytes arrived, without waiting for the rest of the body', async (ctx: CheckContext) => {
    const { maxBodyBytes } = ctx.discovery.limits;
    const sent = openCounter.padEnd(maxBodyBytes + 1, ' ');
    const answer = await postPartialBody(ctx, sent, 4 * maxBodyBytes, 1000 * ctx.timeoutScale + ctx.tolerance);
    ctx.assert(answer !== null, `sent ${sent.length} of ${4 * maxBodyBytes} announced bytes: no answer while the rest was withheld`);
    ctx.assert(answer.status === 413, `sent ${sent.length} of ${4 * maxBodyBytes} announced bytes: expected status 413, got ${answer.status}`);
  }),
  check('SSP-TRANSPORT-13', 'MUST process a request with a query string as without it', async (ctx: CheckContext) => {
    const withQuery = (query: string) => new URL(`${ctx.endpoint.pathname}?${query}`, ctx.endpoint);
    const discovery = await ctx.raw({ method: 'GET' }, withQuery('_=1700000000000'));
    ctx.assert(discovery.status === 200 && (jsonOf(ctx, discovery, 'GET with a query') as { type?: string }).type === 'discovery', `GET ${discovery.exchange.request.url}: expected 200 discovery, got ${discovery.status}`);
    const opened = await ctx.raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: openCounter }, withQuery('trace=1&x'));
    const session = jsonOf(ctx, opened, 'open with a query') as { type?: string; sig?: string };
    ctx.assert(opened.status === 200 && session.type === 'session', `POST open with a query string: expected 200 session, got ${opened.status} ${String(session.type)}`);
    const polled = await ctx.raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ssp: 1, type: 'poll', sig: session.sig, hold: 0 }) }, withQuery('cachebust=2'));
    ctx.assert(polled.status === 200 && (jsonOf(ctx, polled, 'poll with a query') as { type?: string }).type === 'batch', `POST poll with a query string: expected 200 batch, got ${polled.status}`);
  }, { needs: ['annex'] }),
  check('SSP-TRANSPORT-15', 'MUST answer HEAD with the status and headers of the discovery GET, without content', async (ctx: CheckContext) => {
    const origin = { origin: ctx.origin };
    const get = await ctx.raw({ method: 'GET', headers: origin });
    const head = await ctx.raw({ method: 'HEAD', headers: origin });
    ctx.assert(head.status === get.status, `HEAD: status ${head.status}, GET: ${get.status}`);
    ctx.assert(head.text === '', `HEAD: the response has content (${head.text.length} characters)`);
    for (const name of ['content-type', 'cache-control', 'access-control-allow-origin']) {
      ctx.assert(head.headers[name] === get.headers[name], `HEAD: ${name} is ${JSON.stringify(head.headers[name] ?? null)}, GET's is ${JSON.stringify(get.headers[name] ?? null)}`);
    }
    const length = head.headers['content-length'];
    ctx.assert(length === undefined || length === get.headers['content-length'], `HEAD: Content-Length ${length} differs from GET's ${get.headers['content-length']}`);
  }),
  check('SSP-TRANSPORT-16', 'MUST answer a Content-Type outside RFC 9110 grammar, with charset twice, or with several media types with 415', async (ctx: CheckContext) => {
    for (const contentType of ['text/plain; charset=utf-8; charset=utf-8', 'text/plain; charset', 'application/json; charset = utf-8', 'text/plain, application/json', 'application/json; charset="utf-8']) {
      await rejects(contentType)(ctx);
    }
  }),
  check('SSP-TRANSPORT-10', 'MUST use status 200 for discovery, session, batch and termination responses', async (ctx: CheckContext) => {
    for (const kind of ['discovery', 'session', 'batch', 'termination']) {
      const answer = await answerKinds[kind]!(ctx);
      ctx.assert(answer.status === 200, `${kind} response: expected status 200, got ${answer.status}`);
    }
  }, { needs: ['annex'] }),
];
