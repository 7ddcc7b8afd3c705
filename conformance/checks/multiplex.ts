// Spec §23 Extension: multiplex. These checks apply only to a server that lists `multiplex`
// in discovery `extensions`; for any other server each ends with a note (not applicable),
// never a failure. Every `ext.multiplex` the server sends is checked against its schema.
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv, schemaBaseId } from '../../schemas/index.ts';
import { check, CheckNote } from '../check.ts';
import type { Answer, Check, CheckContext } from '../check.ts';
import type { ServerMessage } from '../../schemas/types.gen.ts';
import { expectErrorCode, expectTermination } from './answers.ts';
import { assertTimely } from './timely.ts';

type Json = Record<string, any>;
interface Part {
  id: string;
  gap?: { from: number; to: number };
  events: Array<{ seq: number; data: unknown }>;
  termination?: Json;
}

// createAjv() holds every schema, the extensions' included (schemas/index.ts).
const schema = { $id: `${schemaBaseId}ext-multiplex.schema.json` };
let validators: Record<'Discovery' | 'Session' | 'Batch' | 'Termination', ValidateFunction> | undefined;

function validate(ctx: CheckContext, kind: 'Discovery' | 'Session' | 'Batch' | 'Termination', value: unknown, what: string): Json {
  if (!validators) {
    const ajv = createAjv();
    validators = Object.fromEntries((['Discovery', 'Session', 'Batch', 'Termination'] as const).map((k) => [k, ajv.getSchema(`${schema.$id}#/$defs/${k}`)!])) as unknown as typeof validators;
  }
  const validateFn = validators![kind];
  if (!validateFn(value)) {
    ctx.fail(`${what}: ext.multiplex is not a valid ${kind} member: ${(validateFn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
  }
  return value as Json;
}

/** Not applicable (a note, not a failure) when the server does not offer the extension. */
function offered(ctx: CheckContext): void {
  const extensions = (ctx.discovery as Json).extensions;
  if (!Array.isArray(extensions) || !extensions.includes('multiplex')) throw new CheckNote('the server does not offer the multiplex extension: §23 does not apply');
}

async function openMux(ctx: CheckContext, stream: string, params: Json, ext: Json): Promise<Json> {
  offered(ctx);
  const answer = await ctx.send<ServerMessage>({ ssp: 1, type: 'open', stream, params, extensions: ['multiplex'], ext: { multiplex: ext } });
  const body = answer.body as Json;
  if (answer.status !== 200 || body.type !== 'session') ctx.fail(`open with extensions ["multiplex"]: expected 200 session, got ${answer.status} ${JSON.stringify(body).slice(0, 200)}`);
  if (!Array.isArray(body.extensions) || !body.extensions.includes('multiplex')) ctx.fail(`the server offers multiplex but its session answer lists extensions ${JSON.stringify(body.extensions ?? null)}`);
  validate(ctx, 'Session', body.ext?.multiplex, 'session answer');
  return body;
}

async function pollMux(ctx: CheckContext, sig: string, hold: number, ext?: Json): Promise<Answer<ServerMessage>> {
  return ctx.send<ServerMessage>({ ssp: 1, type: 'poll', sig, hold, ...(ext && { ext: { multiplex: ext } }) });
}

/** A 200 batch of a multiplexed session, its ext.multiplex checked. */
function muxBatch(ctx: CheckContext, answer: Answer<ServerMessage>, what: string): { sig: string; mux: Json; parts: Part[] } {
  const body = answer.body as Json;
  if (answer.status !== 200 || body.type !== 'batch') ctx.fail(`${what}: expected 200 batch, got ${answer.status} ${JSON.stringify(body).slice(0, 200)}`);
  const mux = validate(ctx, 'Batch', body.ext?.multiplex, what);
  return { sig: body.sig, mux, parts: mux.streams as Part[] };
}

/** Polls until `done`, collecting each stream's seqs and terminations. Bounded. */
async function readUntil(ctx: CheckContext, sig: string, done: (seqs: Map<string, number[]>, ended: Map<string, Json>) => boolean, maxPolls = 40) {
  const seqs = new Map<string, number[]>();
  const ended = new Map<string, Json>();
  let previous = sig;
  for (let polls = 0; polls < maxPolls && !done(seqs, ended); polls++) {
    const { sig: next, parts } = muxBatch(ctx, await pollMux(ctx, sig, ctx.discovery.limits.maxHoldMs), `poll ${polls + 1}`);
    for (const part of parts) {
      seqs.set(part.id, [...(seqs.get(part.id) ?? []), ...part.events.map((e) => e.seq)]);
      if (part.termination) ended.set(part.id, part.termination);
    }
    previous = sig;
    sig = next;
  }
  if (!done(seqs, ended)) ctx.fail(`the expected events and terminations did not all arrive within ${maxPolls} polls`);
  return { seqs, ended, sig, previous };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const counter = (count: number, intervalMs = 0) => ({ count, intervalMs });

/**
 * Some checks read every event of short counters, or compare two whole batches: limits below
 * these make gaps or split batches legal, so the requirement cannot be seen as asked. A legal
 * choice is never a failure: say so in a note.
 */
function requireLimits(ctx: CheckContext, least: Partial<Record<'retainEvents' | 'maxBatchEvents', number>>): void {
  for (const [name, value] of Object.entries(least) as Array<['retainEvents' | 'maxBatchEvents', number]>) {
    const advertised = ctx.discovery.limits[name];
    if (advertised < value) throw new CheckNote(`not observable with these limits: needs ${name} >= ${value}, the server advertises ${advertised} (a legal choice)`);
  }
}

export const multiplexChecks: Check[] = [
  check('SSP-MUX-1', 'MUST give ext.multiplex.maxStreams (an integer of at least 2) in discovery when it offers multiplex', async (ctx: CheckContext) => {
    offered(ctx);
    validate(ctx, 'Discovery', (ctx.discovery as Json).ext?.multiplex, 'discovery');
  }),
  check('SSP-MUX-2', "MUST validate a multiplexed open's own stream as a plain open, and answer ext.multiplex id, added and refused", async (ctx: CheckContext) => {
    offered(ctx);
    const refused = await ctx.send({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 'many' }, extensions: ['multiplex'], ext: { multiplex: { id: 'main' } } });
    expectErrorCode(ctx, refused, 'invalid-params', 'multiplexed open with invalid params of its own stream');
    const session = await openMux(ctx, 'ssp.counter', counter(2), { id: 'main' });
    ctx.assert(session.ext.multiplex.id === 'main', `ext.multiplex.id is ${JSON.stringify(session.ext.multiplex.id)}, expected "main" (the open's ext.multiplex.id)`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-3', 'MUST answer each added stream in added or refused with the code open would get, leaving the other streams untouched', async (ctx: CheckContext) => {
    requireLimits(ctx, { retainEvents: 3 });
    const session = await openMux(ctx, 'ssp.counter', counter(3), {
      id: 'a',
      add: [
        { id: 'b', stream: 'ssp.counter', params: counter(2) },
        { id: 'c', stream: 'ssp.no-such-stream' },
        { id: 'd', stream: 'ssp.counter', params: { count: 'many' } },
      ],
    });
    const { added, refused } = session.ext.multiplex as { added: string[]; refused: Array<{ id: string; error: Json }> };
    ctx.assert(added.includes('b'), `added is ${JSON.stringify(added)}, expected it to list "b"`);
    const codes = Object.fromEntries(refused.map((r) => [r.id, r.error.code]));
    ctx.assert(codes.c === 'unknown-stream', `refused "c" (an unknown stream) with ${JSON.stringify(codes.c ?? null)}, expected unknown-stream`);
    ctx.assert(codes.d === 'invalid-params', `refused "d" (invalid params) with ${JSON.stringify(codes.d ?? null)}, expected invalid-params`);
    const { seqs } = await readUntil(ctx, session.sig, (_, ended) => ended.has('a') && ended.has('b'));
    ctx.assert(JSON.stringify(seqs.get('a')) === JSON.stringify(range(3)), `stream "a" delivered ${JSON.stringify(seqs.get('a'))}, expected [1,2,3]`);
    ctx.assert(JSON.stringify(seqs.get('b')) === JSON.stringify(range(2)), `stream "b" delivered ${JSON.stringify(seqs.get('b'))}, expected [1,2]`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-4', 'MUST accept a repeated identical addition without a second stream, and refuse a different one under a used id with stream-id-in-use', async (ctx: CheckContext) => {
    const session = await openMux(ctx, 'ssp.ticker', { intervalMs: 60000 }, { id: 'a' });
    const add = { add: [{ id: 'b', stream: 'ssp.counter', params: counter(3, 50) }] };
    muxBatch(ctx, await pollMux(ctx, session.sig, 0, add), 'poll adding "b"');
    // The same change again with the same signature: a client whose answer was lost.
    const again = muxBatch(ctx, await pollMux(ctx, session.sig, 0, add), 'the same poll again');
    ctx.assert(again.mux.added?.includes('b'), `repeated addition of "b": added is ${JSON.stringify(again.mux.added ?? null)}, refused ${JSON.stringify(again.mux.refused ?? null)}`);
    const clash = muxBatch(ctx, await pollMux(ctx, again.sig, 0, { add: [{ id: 'b', stream: 'ssp.counter', params: counter(9) }] }), 'poll adding another stream as "b"');
    const code = (clash.mux.refused as Array<{ id: string; error: Json }> | undefined)?.find((r) => r.id === 'b')?.error.code;
    ctx.assert(code === 'stream-id-in-use', `another stream under the id "b": refused with ${JSON.stringify(code ?? null)}, expected stream-id-in-use`);
    // One stream "b", read from the repeated addition on: its events once, then its end.
    const seen = [...again.parts, ...clash.parts].filter((p) => p.id === 'b').flatMap((p) => p.events.map((e) => e.seq));
    const ended = [...again.parts, ...clash.parts].some((p) => p.id === 'b' && p.termination);
    const rest = ended ? [] : ((await readUntil(ctx, clash.sig, (_, e) => e.has('b'))).seqs.get('b') ?? []);
    ctx.assert(JSON.stringify([...seen, ...rest]) === JSON.stringify(range(3)), `stream "b" delivered ${JSON.stringify([...seen, ...rest])}, expected [1,2,3] once`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-5', 'SHOULD refuse additions beyond maxStreams live streams with too-many-streams', async (ctx: CheckContext) => {
    offered(ctx);
    const maxStreams = (ctx.discovery as Json).ext?.multiplex?.maxStreams;
    if (!Number.isInteger(maxStreams) || maxStreams > 64) throw new CheckNote('maxStreams missing or above 64: not probed');
    const add = Array.from({ length: maxStreams }, (_, i) => ({ id: `s${i}`, stream: 'ssp.ticker', params: { intervalMs: 60000 } }));
    const session = await openMux(ctx, 'ssp.ticker', { intervalMs: 60000 }, { id: 'first', add });
    const codes = (session.ext.multiplex.refused as Array<{ error: Json }>).map((r) => r.error.code);
    ctx.assert(codes.includes('too-many-streams'), `opened with ${maxStreams + 1} streams (maxStreams ${maxStreams}): refused codes ${JSON.stringify(codes)}`);
    await ctx.close(session.sig);
  }, { needs: ['annex'] }),
  check('SSP-MUX-6', 'MUST answer a poll carrying additions or removals without holding it', async (ctx: CheckContext) => {
    const hold = ctx.discovery.limits.maxHoldMs;
    // "At once" judged against this server's measured round trip (timely.ts), not a fixed allowance.
    await assertTimely(ctx, `a poll with hold ${hold} carrying an addition`, async () => {
      const session = await openMux(ctx, 'ssp.ticker', { intervalMs: 60000 }, { id: 'a' });
      const started = performance.now();
      muxBatch(ctx, await pollMux(ctx, session.sig, hold, { add: [{ id: 'b', stream: 'ssp.ticker', params: { intervalMs: 60000 } }] }), 'poll adding a stream');
      return { ms: Math.round(performance.now() - started), dueMs: 0 };
    });
  }, { needs: ['annex'], exclusive: true }),
  check('SSP-MUX-7', 'MUST carry an empty top-level events, no top-level gap, and ext.multiplex.streams in every batch of a multiplexed session', async (ctx: CheckContext) => {
    const session = await openMux(ctx, 'ssp.counter', counter(4), { id: 'a', add: [{ id: 'b', stream: 'ssp.burst', params: { count: 3 } }] });
    let sig = session.sig;
    for (let polls = 0; polls < 6; polls++) {
      const answer = await pollMux(ctx, sig, 200);
      const body = answer.body as Json;
      if (body.type !== 'batch') break;
      ctx.assert(Array.isArray(body.events) && body.events.length === 0, `poll ${polls + 1}: top-level events ${JSON.stringify(body.events).slice(0, 120)}, expected []`);
      ctx.assert(body.gap === undefined, `poll ${polls + 1}: a top-level gap ${JSON.stringify(body.gap)}`);
      const { parts, sig: next } = muxBatch(ctx, answer, `poll ${polls + 1}`);
      for (const part of parts) ctx.assert(part.id === 'a' || part.id === 'b', `poll ${polls + 1}: a part names stream ${JSON.stringify(part.id)}, not one of the session`);
      sig = next;
    }
  }, { needs: ['annex'] }),
  check('SSP-MUX-8', 'MUST number each stream from 1 without unannounced holes, and re-deliver to a signature sent again', async (ctx: CheckContext) => {
    // Both streams whole in one batch, so the repeat of the first poll can be compared with it.
    requireLimits(ctx, { retainEvents: 7, maxBatchEvents: 12 });
    const session = await openMux(ctx, 'ssp.counter', counter(5, 20), { id: 'a', add: [{ id: 'b', stream: 'ssp.counter', params: counter(7, 10) }] });
    const first = muxBatch(ctx, await pollMux(ctx, session.sig, ctx.discovery.limits.maxHoldMs), 'first poll');
    const again = muxBatch(ctx, await pollMux(ctx, session.sig, ctx.discovery.limits.maxHoldMs), 'the first poll again');
    for (const part of first.parts) {
      const repeat = again.parts.find((p) => p.id === part.id);
      const seqs = part.events.map((e) => e.seq);
      const repeated = repeat?.events.map((e) => e.seq).slice(0, seqs.length) ?? [];
      ctx.assert(JSON.stringify(repeated) === JSON.stringify(seqs), `stream "${part.id}": the same signature again got ${JSON.stringify(repeat?.events.map((e) => e.seq) ?? [])}, first ${JSON.stringify(seqs)}`);
    }
    const { seqs } = await readUntil(ctx, session.sig, (_, ended) => ended.has('a') && ended.has('b'));
    ctx.assert(JSON.stringify(seqs.get('a')) === JSON.stringify(range(5)), `stream "a" delivered ${JSON.stringify(seqs.get('a'))}, expected 1..5`);
    ctx.assert(JSON.stringify(seqs.get('b')) === JSON.stringify(range(7)), `stream "b" delivered ${JSON.stringify(seqs.get('b'))}, expected 1..7`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-9', 'MUST share a full batch between streams with ready events (no (k+1)-th event of one before the k-th of another)', async (ctx: CheckContext) => {
    const { maxBatchEvents } = ctx.discovery.limits;
    const count = Math.min(2 * maxBatchEvents, 200);
    const session = await openMux(ctx, 'ssp.burst', { count }, { id: 'x', add: [{ id: 'y', stream: 'ssp.burst', params: { count } }] });
    // Both bursts are produced at once; a short wait lets them land before the batch is cut.
    await ctx.sleep(300);
    const { parts } = muxBatch(ctx, await pollMux(ctx, session.sig, 0), 'poll with both bursts ready');
    const x = parts.find((p) => p.id === 'x')?.events.length ?? 0;
    const y = parts.find((p) => p.id === 'y')?.events.length ?? 0;
    ctx.assert(Math.abs(x - y) <= 1, `with ${count} events ready in each of two streams, one batch carried ${x} of "x" and ${y} of "y"`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-10', "MUST repeat a stream's termination to every signature still naming it, without ending the session or the other streams", async (ctx: CheckContext) => {
    const session = await openMux(ctx, 'ssp.counter', counter(2), { id: 'a', add: [{ id: 't', stream: 'ssp.ticker', params: { intervalMs: 60000 } }] });
    const { previous, ended } = await readUntil(ctx, session.sig, (_, e) => e.has('a'));
    ctx.assert(!ended.has('t'), `stream "t" (a ticker) was terminated with stream "a": ${JSON.stringify(ended.get('t'))}`);
    const again = muxBatch(ctx, await pollMux(ctx, previous, 0), 'the signature that got the termination, again');
    const repeat = again.parts.find((p) => p.id === 'a')?.termination;
    ctx.assert(JSON.stringify(repeat) === JSON.stringify(ended.get('a')), `the same signature again got ${JSON.stringify(repeat ?? null)}, first ${JSON.stringify(ended.get('a'))}`);
    const more = muxBatch(ctx, await pollMux(ctx, again.sig, 0, { add: [{ id: 'n', stream: 'ssp.counter', params: counter(1) }] }), 'adding a stream after another ended');
    ctx.assert(more.mux.added?.includes('n'), `the session no longer accepts streams after one ended: ${JSON.stringify(more.mux)}`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-11', 'MUST NOT name a stream in the signature of the answer that carried its termination', async (ctx: CheckContext) => {
    const session = await openMux(ctx, 'ssp.counter', counter(1), { id: 'a', add: [{ id: 't', stream: 'ssp.ticker', params: { intervalMs: 60000 } }] });
    const { sig } = await readUntil(ctx, session.sig, (_, e) => e.has('a'));
    const next = muxBatch(ctx, await pollMux(ctx, sig, 0), 'poll with the signature that came with the termination');
    const part = next.parts.find((p) => p.id === 'a');
    ctx.assert(part === undefined, `stream "a" again after its termination: ${JSON.stringify(part)}`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-12', 'MUST end every stream on close, with a closed part per live stream, remembered and repeated', async (ctx: CheckContext) => {
    const session = await openMux(ctx, 'ssp.ticker', { intervalMs: 60000 }, { id: 'a', add: [{ id: 'b', stream: 'ssp.ticker', params: { intervalMs: 60000 } }] });
    const closed = expectTermination(ctx, await ctx.close(session.sig), 'close', 'closed') as unknown as Json;
    const mux = validate(ctx, 'Termination', closed.ext?.multiplex, 'close answer');
    for (const id of ['a', 'b']) {
      const part = (mux.streams as Part[]).find((p) => p.id === id);
      ctx.assert(part?.termination?.reason === 'closed', `close: stream "${id}" has ${JSON.stringify(part ?? null)}, expected a closed termination`);
    }
    const again = await pollMux(ctx, session.sig, 0);
    ctx.assert(JSON.stringify(again.body) === JSON.stringify(closed), `a poll after close got ${JSON.stringify(again.body).slice(0, 200)}, expected the close's termination again`);
  }, { needs: ['annex'] }),
  check('SSP-MUX-13', 'MUST keep every signature within the §8 format for any number of streams up to maxStreams', async (ctx: CheckContext) => {
    offered(ctx);
    const maxStreams = Math.min(Number((ctx.discovery as Json).ext?.multiplex?.maxStreams ?? 2), 64);
    // The longest ids the schema allows.
    const id = (i: number) => `${'x'.repeat(12)}${String(i).padStart(4, '0')}`;
    const add = Array.from({ length: maxStreams - 1 }, (_, i) => ({ id: id(i + 1), stream: 'ssp.counter', params: counter(3) }));
    const session = await openMux(ctx, 'ssp.counter', counter(3), { id: id(0), add });
    const sigs = [session.sig as string];
    const { sig } = await readUntil(ctx, session.sig, (seqs) => seqs.size > 0, 5);
    sigs.push(sig);
    for (const s of sigs) ctx.assert(/^[A-Za-z0-9_.~-]{16,2048}$/.test(s), `a signature of a session with ${maxStreams} streams has ${s.length} characters or a character outside §8's set`);
    await ctx.close(sig);
  }, { needs: ['annex'] }),
];
