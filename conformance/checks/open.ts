// Spec §7 Opening a session: a session at position 0 naming the stream; params default to
// {}; unknown streams and rejected params are typed errors; sessions are independent.
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import type { ErrorMessage } from '../../schemas/types.gen.ts';
import { expectErrorCode } from './answers.ts';
import { drain, retainedAtMost } from './drain.ts';

async function invalidParams(ctx: CheckContext): Promise<Array<[string, number, ErrorMessage]>> {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['required count missing', {}],
    ['count out of range', { count: 0 }],
    ['unknown param', { count: 1, colour: 'red' }],
    ['count of the wrong type', { count: 'three' }],
  ];
  const answers: Array<[string, number, ErrorMessage]> = [];
  for (const [what, params] of cases) {
    const answer = await ctx.send({ ssp: 1, type: 'open', stream: 'ssp.counter', params });
    answers.push([`ssp.counter ${what}`, answer.status, expectErrorCode(ctx, answer, 'invalid-params', `ssp.counter ${what}`)]);
  }
  return answers;
}

export const openChecks: Check[] = [
  check('SSP-OPEN-1', 'MUST answer a valid open with 200 and a session', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.counter', { count: 1 });
    ctx.assert(session.status === 200, `expected status 200, got ${session.status}`);
  }, { needs: ['annex'] }),
  check('SSP-OPEN-2', 'MUST name the opened stream in the session message', async (ctx: CheckContext) => {
    for (const stream of ['ssp.counter', 'ssp.burst']) {
      const { body } = await ctx.open(stream, { count: 1 });
      ctx.assert(body.stream === stream, `open '${stream}': session names '${body.stream}'`);
    }
  }, { needs: ['annex'] }),
  check('SSP-OPEN-3', 'MUST answer open with position 0', async (ctx: CheckContext) => {
    const { body } = await ctx.open('ssp.burst', { count: 3 });
    ctx.assert(body.position === 0, `session position must be 0, got ${body.position}`);
  }, { needs: ['annex'] }),
  check('SSP-OPEN-4', 'MUST treat an open without params like one with params {}', async (ctx: CheckContext) => {
    // ssp.ticker needs no param: both open; ssp.counter requires count: both are rejected alike.
    for (const params of [undefined, {}]) {
      const session = await ctx.open('ssp.ticker', params);
      await ctx.close(session.body.sig);
      const what = `ssp.counter with params ${params === undefined ? 'absent' : '{}'}`;
      expectErrorCode(ctx, await ctx.send({ ssp: 1, type: 'open', stream: 'ssp.counter', ...(params === undefined ? {} : { params }) }), 'invalid-params', what);
    }
  }, { needs: ['annex'] }),
  check('SSP-OPEN-5', 'MUST answer open of a stream it does not offer with 404 unknown-stream', async (ctx: CheckContext) => {
    const answer = await ctx.send({ ssp: 1, type: 'open', stream: 'conformance.no-such-stream' });
    expectErrorCode(ctx, answer, 'unknown-stream', "open 'conformance.no-such-stream'");
    ctx.assert(answer.status === 404, `unknown-stream: expected status 404, got ${answer.status}`);
  }),
  check('SSP-OPEN-6', 'MUST answer open with params the stream does not accept with 422 invalid-params', async (ctx: CheckContext) => {
    for (const [what, status] of await invalidParams(ctx)) ctx.assert(status === 422, `${what}: expected status 422, got ${status}`);
  }, { needs: ['annex'] }),
  check('SSP-OPEN-7', 'SHOULD list the problems in details.errors of invalid-params', async (ctx: CheckContext) => {
    for (const [what, , error] of await invalidParams(ctx)) {
      const errors = error.details?.errors;
      ctx.assert(Array.isArray(errors) && errors.length > 0, `${what}: details.errors is ${JSON.stringify(errors ?? null)}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-OPEN-11', 'SHOULD give each details.errors entry a JSON Pointer path into params and a message', async (ctx: CheckContext) => {
    // The expected pointer of each case (a missing or unknown parameter: its own pointer).
    const expected: Record<string, string> = {
      'ssp.counter required count missing': '/count',
      'ssp.counter count out of range': '/count',
      'ssp.counter unknown param': '/colour',
      'ssp.counter count of the wrong type': '/count',
    };
    for (const [what, , error] of await invalidParams(ctx)) {
      const errors = (error.details?.errors ?? []) as unknown[];
      const entries = errors.filter((entry): entry is { path: string; message: string } => {
        const { path, message } = (entry ?? {}) as { path?: unknown; message?: unknown };
        return typeof path === 'string' && typeof message === 'string' && message.length > 0;
      });
      ctx.assert(entries.length === errors.length && errors.length > 0, `${what}: details.errors entries must be {path, message}, got ${JSON.stringify(errors)}`);
      ctx.assert(entries.some((entry) => entry.path === expected[what]), `${what}: no entry with path '${expected[what]}' in ${JSON.stringify(errors)}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-OPEN-8', 'MUST make each open a new session, independent of others with the same stream and params', async (ctx: CheckContext) => {
    const count = retainedAtMost(ctx, 3);
    const expected = Array.from({ length: count }, (_, i) => i + 1).join();
    const first = await ctx.open('ssp.counter', { count });
    const second = await ctx.open('ssp.counter', { count });
    ctx.assert(first.body.sig !== second.body.sig, 'two opens returned the same signature');
    // Reading the first to its end neither advances nor ends the second.
    const a = await drain(ctx, first.body.sig);
    const b = await drain(ctx, second.body.sig);
    for (const [name, read] of [['first', a], ['second', b]] as const) {
      const seqs = read.events.map((event) => event.seq);
      ctx.assert(seqs.join() === expected && read.termination.last === count, `${name} session: events ${JSON.stringify(seqs)}, termination last ${read.termination.last}; expected ${expected} then last ${count}`);
    }
  }, { needs: ['annex'] }),
];
