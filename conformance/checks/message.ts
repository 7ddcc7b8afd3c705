// Spec §6 Messages: every body is one schema-valid JSON object with "ssp": 1; request
// bodies are checked in the order of §6.4 (syntax, version, shape) with typed errors.
import { check } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import type { ErrorCode } from '../../schemas/types.gen.ts';
import { createValidator } from '../../schemas/index.ts';
import { asAnswer, expectBatch, expectErrorCode, expectTermination, jsonOf } from './answers.ts';
import { openQuiet } from './sessions.ts';

const json = { 'content-type': 'application/json' };

function post(ctx: CheckContext, body: string | Uint8Array, headers: Record<string, string> = json): Promise<RawAnswer> {
  return ctx.raw({ method: 'POST', headers, body });
}

/** One body of every kind the server sends, as parsed JSON. */
async function everyKindOfBody(ctx: CheckContext): Promise<Array<[string, unknown]>> {
  const session = await openQuiet(ctx);
  const batch = expectBatch(ctx, await ctx.poll(session.body.sig, 0), 'poll with hold 0');
  const termination = expectTermination(ctx, await ctx.close(batch.sig), 'close');
  const discovery = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET');
  const error = jsonOf(ctx, await post(ctx, '{'), 'invalid JSON');
  return [['discovery', discovery], ['session', session.body], ['batch', batch], ['termination', termination], ['error', error]];
}

async function assertBadRequest(ctx: CheckContext, body: string | Uint8Array, what: string): Promise<void> {
  const answer = await post(ctx, body);
  expectErrorCode(ctx, asAnswer(ctx, answer, what), 'bad-request', what);
  ctx.assert(answer.status === 400, `${what}: expected status 400, got ${answer.status}`);
}

export const messageChecks: Check[] = [
  check('SSP-MESSAGE-1', 'MUST carry "ssp": 1 in every response body', async (ctx: CheckContext) => {
    for (const [kind, body] of await everyKindOfBody(ctx)) {
      ctx.assert((body as { ssp?: unknown }).ssp === 1, `${kind} body: ssp is ${JSON.stringify((body as { ssp?: unknown }).ssp)}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-2', 'MUST send every response body as one JSON object valid against the schema of its type', async (ctx: CheckContext) => {
    const validator = createValidator();
    for (const [kind, body] of await everyKindOfBody(ctx)) {
      const result = kind === 'discovery' ? validator.validate('discovery', body) : validator.validateServerMessage(body);
      ctx.assert(result.ok, `${kind} body: ${result.ok ? '' : result.errors.join('; ')}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-3', 'MUST answer a body that is not UTF-8 or not JSON with 400 bad-request', async (ctx: CheckContext) => {
    await assertBadRequest(ctx, '{"ssp":1,"type":"open",', 'truncated JSON');
    await assertBadRequest(ctx, '', 'empty body');
    // {"ssp":1,"type":"open","stream":"<0xFF>"}: JSON-shaped but not UTF-8.
    const bytes = new TextEncoder().encode('{"ssp":1,"type":"open","stream":"ssp.counter"}');
    bytes[bytes.indexOf(0x2e)] = 0xff;
    await assertBadRequest(ctx, bytes, 'invalid UTF-8');
  }),
  check('SSP-MESSAGE-4', 'MUST answer a JSON body that is not an object with 400 bad-request', async (ctx: CheckContext) => {
    for (const body of ['[{"ssp":1,"type":"open","stream":"ssp.counter"}]', 'null', '42', '"open"', 'true']) await assertBadRequest(ctx, body, `body ${body}`);
  }),
  check('SSP-MESSAGE-5', 'MUST answer an unsupported ssp version with 400 unsupported-version listing versions', async (ctx: CheckContext) => {
    const answer = await post(ctx, JSON.stringify({ ssp: 2, type: 'open', stream: 'ssp.counter', params: { count: 1 } }));
    const error = expectErrorCode(ctx, asAnswer(ctx, answer, 'ssp 2'), 'unsupported-version', 'open with ssp 2');
    ctx.assert(answer.status === 400, `ssp 2: expected status 400, got ${answer.status}`);
    ctx.assert(Array.isArray(error.versions) && error.versions.includes(1), `unsupported-version must list versions [1], got ${JSON.stringify(error.versions)}`);
  }),
  check('SSP-MESSAGE-6', 'MUST check ssp before the shape: another version with an unknown shape gets unsupported-version', async (ctx: CheckContext) => {
    const answer = await post(ctx, JSON.stringify({ ssp: 3, kind: 'subscribe', topics: ['a'] }));
    expectErrorCode(ctx, asAnswer(ctx, answer, 'ssp 3'), 'unsupported-version', 'ssp 3 with an unknown shape');
  }),
  check('SSP-MESSAGE-7/open', 'MUST answer a schema-invalid open with 400 bad-request', async (ctx: CheckContext) => {
    const cases: Array<[string, unknown]> = [
      ['lacks ssp', { type: 'open', stream: 'ssp.counter' }],
      ['unknown type', { ssp: 1, type: 'subscribe', stream: 'ssp.counter' }],
      ['lacks stream', { ssp: 1, type: 'open' }],
      ['stream of the wrong type', { ssp: 1, type: 'open', stream: 7 }],
      ['stream breaking the name pattern', { ssp: 1, type: 'open', stream: '../ssp.counter' }],
      ['params not an object', { ssp: 1, type: 'open', stream: 'ssp.counter', params: [1] }],
      ['unknown member', { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 }, priority: 'high' }],
    ];
    for (const [what, message] of cases) await assertBadRequest(ctx, JSON.stringify(message), `open ${what}`);
  }),
  check('SSP-MESSAGE-7/poll', 'MUST answer a schema-invalid poll or close with 400 bad-request', async (ctx: CheckContext) => {
    const { sig } = (await openQuiet(ctx)).body;
    const cases: Array<[string, unknown]> = [
      ['poll lacking sig', { ssp: 1, type: 'poll', hold: 0 }],
      ['poll with a negative hold', { ssp: 1, type: 'poll', sig, hold: -1 }],
      ['poll with a fractional hold', { ssp: 1, type: 'poll', sig, hold: 1.5 }],
      ['poll with a string hold', { ssp: 1, type: 'poll', sig, hold: '0' }],
      ['poll with an unknown member', { ssp: 1, type: 'poll', sig, hold: 0, ack: 3 }],
      ['close with a hold', { ssp: 1, type: 'close', sig, hold: 0 }],
    ];
    for (const [what, message] of cases) await assertBadRequest(ctx, JSON.stringify(message), what);
    await ctx.close(sig);
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-8', 'SHOULD answer a request failing several steps with the error of the first step (§6.4 order)', async (ctx: CheckContext) => {
    const cases: Array<[string, () => Promise<RawAnswer>, ErrorCode]> = [
      ['PUT with a bad media type', () => ctx.raw({ method: 'PUT', headers: { 'content-type': 'application/xml' }, body: '{' }), 'method-not-allowed'],
      ['bad media type and invalid JSON', () => post(ctx, '{', { 'content-type': 'application/xml' }), 'unsupported-media-type'],
      ['oversize invalid JSON', () => post(ctx, '{'.padEnd(ctx.discovery.limits.maxBodyBytes + 1, ' ')), 'payload-too-large'],
      ['ssp 2 and a malformed sig', () => post(ctx, JSON.stringify({ ssp: 2, type: 'poll', sig: '!' })), 'unsupported-version'],
      ['malformed sig and unknown member', () => post(ctx, JSON.stringify({ ssp: 1, type: 'poll', sig: 'AAAAAAAAAAAAAAAAAAAA', extra: 1 })), 'bad-request'],
    ];
    for (const [what, send, code] of cases) {
      const answer = await send();
      expectErrorCode(ctx, asAnswer(ctx, answer, what), code, what);
    }
  }),
  check('SSP-MESSAGE-9', 'MUST answer a body with a byte order mark, a duplicate member name or an unpaired surrogate escape with 400 bad-request', async (ctx: CheckContext) => {
    const open = '{"ssp":1,"type":"open","stream":"conformance.no-such-stream"}';
    await assertBadRequest(ctx, new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(open)]), 'body beginning with a UTF-8 byte order mark');
    await assertBadRequest(ctx, '{"ssp":1,"type":"open","stream":"conformance.no-such-stream","stream":"conformance.other"}', 'duplicate member "stream"');
    await assertBadRequest(ctx, '{"ssp":1,"type":"open","stream":"conformance.no-such-stream","params":{"a":1,"a":2}}', 'duplicate member "a" inside params');
    await assertBadRequest(ctx, '{"ssp":1,"type":"open","stream":"conformance.no-such-stream","params":{"a":"\\ud800"}}', 'unpaired surrogate escape \\ud800');
  }),
  check('SSP-MESSAGE-10', 'MUST treat a number with a zero fraction, in any notation, as the integer it denotes', async (ctx: CheckContext) => {
    const opened = await post(ctx, '{"ssp":1.0,"type":"open","stream":"ssp.counter","params":{"count":1e0}}');
    const session = jsonOf(ctx, opened, 'open with "ssp": 1.0') as { type?: string; sig?: string };
    ctx.assert(opened.status === 200 && session.type === 'session', `open with "ssp": 1.0 and "count": 1e0: expected 200 session, got ${opened.status} ${JSON.stringify(session).slice(0, 200)}`);
    const polled = await post(ctx, `{"ssp":1,"type":"poll","sig":${JSON.stringify(session.sig)},"hold":0.0}`);
    const batch = jsonOf(ctx, polled, 'poll with "hold": 0.0') as { type?: string };
    ctx.assert(polled.status === 200 && batch.type === 'batch', `poll with "hold": 0.0: expected 200 batch, got ${polled.status} ${JSON.stringify(batch).slice(0, 200)}`);
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-11', 'MUST answer a body containing an integer beyond 2^53 - 1 with 400 bad-request', async (ctx: CheckContext) => {
    const session = await openQuiet(ctx);
    await assertBadRequest(ctx, `{"ssp":1,"type":"poll","sig":${JSON.stringify(session.body.sig)},"hold":9007199254740993}`, 'hold 2^53 + 1');
    await assertBadRequest(ctx, '{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1,"big":1e300}}', 'params member 1e300');
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-12', 'MUST accept a message nested 32 levels deep past the syntax step', async (ctx: CheckContext) => {
    // Levels: the message 1, params 2, then 30 arrays: 32. ssp.counter takes no such
    // parameter, so a server that accepts the syntax answers invalid-params (§6.4 step 13).
    const deep = `${'['.repeat(30)}${']'.repeat(30)}`;
    const answer = await post(ctx, `{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1,"conformance-deep":${deep}}}`);
    const body = jsonOf(ctx, answer, 'open nested 32 levels deep') as { code?: string };
    ctx.assert(answer.status === 422 && body.code === 'invalid-params', `open nested 32 levels deep: expected 422 invalid-params (the syntax accepted), got ${answer.status} ${JSON.stringify(body).slice(0, 200)}`);
  }, { needs: ['annex'] }),
  check('SSP-MESSAGE-14', 'MUST write every integer it sends without fraction or exponent', async (ctx: CheckContext) => {
    const session = await openQuiet(ctx);
    const texts: Array<[string, string]> = [['session', session.exchange.response?.body ?? '']];
    await ctx.poll(session.body.sig, 0);
    texts.push(['batch', ctx.evidence[ctx.evidence.length - 1]?.response?.body ?? '']);
    await ctx.close(session.body.sig);
    texts.push(['termination', ctx.evidence[ctx.evidence.length - 1]?.response?.body ?? '']);
    texts.push(['discovery', (await ctx.raw({ method: 'GET' })).text]);
    const burst = await ctx.open('ssp.burst', { count: 2 });
    await ctx.poll(burst.body.sig, 0);
    texts.push(['batch with events', ctx.evidence[ctx.evidence.length - 1]?.response?.body ?? '']);
    const integerMember = /"(ssp|seq|position|last|from|to|retryAfterMs|delayMs|maxHoldMs|batchDelayMs|maxBatchEvents|maxBatchBytes|idleTimeoutMs|retainEvents|maxBodyBytes|terminationMemoryMs|n)":\s*(-?[0-9][0-9.eE+-]*)/g;
    for (const [kind, text] of texts) {
      for (const [, name, number] of text.matchAll(integerMember)) {
        ctx.assert(/^-?(0|[1-9][0-9]*)$/.test(number ?? '') && Number.isSafeInteger(Number(number)), `${kind}: "${name}": ${number} is not written as a plain integer within 2^53 - 1`);
      }
    }
  }, { needs: ['annex'] }),
];
