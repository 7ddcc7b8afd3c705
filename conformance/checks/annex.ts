// Spec §20 Conformance annex: the streams the other checks use to make a server produce
// events, with exactly the params, data and endings §20.2–§20.4 give.
import { assertTimely } from './timely.ts';
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import type { SspEvent, TerminationMessage } from '../../schemas/types.gen.ts';
import { expectBatch, expectErrorCode, expectTermination, jsonOf } from './answers.ts';
import { annexParamSamples, annexStreams, isLargeAndMany } from './annex-params.ts';
import { drain, lastSeq, readAtOnce, readEvents, retainedAtMost } from './drain.ts';
import { elapsed } from './sessions.ts';

function dataOf(event: SspEvent): Record<string, unknown> {
  return typeof event.data === 'object' && event.data !== null && !Array.isArray(event.data) ? (event.data as Record<string, unknown>) : {};
}

/** §20.3: data is an object with exactly these members. */
function assertMembers(ctx: CheckContext, events: readonly SspEvent[], members: string[], stream: string): void {
  for (const event of events) {
    const isObject = typeof event.data === 'object' && event.data !== null && !Array.isArray(event.data);
    const keys = isObject ? Object.keys(event.data as object).sort() : [];
    ctx.assert(isObject && keys.join() === [...members].sort().join(), `${stream}: event ${event.seq} data ${JSON.stringify(event.data)?.slice(0, 80)} must have exactly the members ${members.join(', ')}`);
  }
}

/** Events i = 1..count with seq i and n = i. */
function assertNumbered(ctx: CheckContext, events: readonly SspEvent[], count: number, stream: string): void {
  const got = events.map((event) => `${event.seq}:${String(dataOf(event).n)}`).join();
  const expected = Array.from({ length: count }, (_, i) => `${i + 1}:${i + 1}`).join();
  ctx.assert(got === expected, `${stream}: expected ${count} events with seq = n = 1..${count}, got seq:n ${got}`);
}

async function readAll(ctx: CheckContext, stream: string, params: Record<string, unknown>) {
  return drain(ctx, (await ctx.open(stream, params)).body.sig);
}

/** After the last event, the termination comes at once (a full hold must not pass). */
async function assertEndsAtOnce(ctx: CheckContext, stream: string, params: Record<string, unknown>, count: number) {
  const { maxHoldMs, batchDelayMs } = ctx.discovery.limits;
  let termination: TerminationMessage | undefined;
  await assertTimely(ctx, `${stream}: the termination for a poll at the last event (due at once)`, async () => {
    const { events, sig } = await readEvents(ctx, (await ctx.open(stream, params)).body.sig, count);
    ctx.assert(lastSeq(events) === count, `${stream}: read up to ${lastSeq(events)} of ${count}`);
    const answer = await ctx.poll(sig, maxHoldMs);
    termination = expectTermination(ctx, answer, `${stream}: poll at the last event`);
    return { ms: elapsed(answer), dueMs: batchDelayMs };
  });
  return termination!;
}

export const annexChecks: Check[] = [
  check('SSP-ANNEX-19', 'MUST NOT offer a stream named ssp.* other than the annex streams', async (ctx: CheckContext) => {
    const document = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET') as { streams?: Array<{ name?: string }> };
    const stray = (document.streams ?? []).map((stream) => stream.name ?? '').filter((name) => name.startsWith('ssp.') && !(annexStreams as readonly string[]).includes(name));
    ctx.assert(stray.length === 0, `discovery offers ${JSON.stringify(stray)}: the ssp. prefix is reserved for the annex`);
  }),
  check('SSP-ANNEX-2', 'MUST set conformance true if and only if all four annex streams are offered', async (ctx: CheckContext) => {
    const document = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET') as { conformance?: unknown; streams?: Array<{ name?: unknown }> };
    const listed = new Set((document.streams ?? []).map((stream) => stream.name));
    const offered = annexStreams.filter((name) => listed.has(name));
    if (document.conformance === true) ctx.assert(offered.length === annexStreams.length, `conformance is true but only ${JSON.stringify(offered)} are listed`);
    else ctx.assert(offered.length < annexStreams.length, `all four annex streams are listed but conformance is ${JSON.stringify(document.conformance ?? null)}`);
  }),
  check('SSP-ANNEX-3', 'MUST accept every params object §20.2 allows, applying the defaults', async (ctx: CheckContext) => {
    for (const stream of annexStreams) {
      for (const { params } of annexParamSamples[stream].filter((sample) => sample.valid)) {
        const session = await ctx.open(stream, params);
        await ctx.close(session.body.sig);
      }
    }
    // Defaults: counter intervalMs 0 and size 0 (events at once, no pad); fail after 0 with "conformance failure".
    const count = retainedAtMost(ctx, 2);
    const counter = await ctx.open('ssp.counter', { count });
    const { events } = await readAtOnce(ctx, counter.body.sig, count, `ssp.counter {count: ${count}} right after open`);
    ctx.assert(events.length === count && events.every((event) => dataOf(event).pad === undefined), `ssp.counter defaults: expected ${count} events at once without pad, got ${JSON.stringify(events)}`);
    const { termination } = await readAll(ctx, 'ssp.fail', {});
    ctx.assert(termination.last === 0 && termination.error?.message === 'conformance failure', `ssp.fail defaults: expected last 0 and message "conformance failure", got last ${termination.last}, error ${JSON.stringify(termination.error ?? null)}`);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-4', 'MUST answer annex params that are unknown, missing, mistyped or out of range with 422 invalid-params', async (ctx: CheckContext) => {
    for (const stream of annexStreams) {
      for (const { params } of annexParamSamples[stream].filter((sample) => !sample.valid)) {
        const answer = await ctx.send({ ssp: 1, type: 'open', stream, params });
        expectErrorCode(ctx, answer, 'invalid-params', `${stream} ${JSON.stringify(params)}`);
        ctx.assert(answer.status === 422, `${stream} ${JSON.stringify(params)}: expected status 422, got ${answer.status}`);
      }
    }
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-21', 'MUST answer counter and burst params with size above 256 and count above 16 with 422 invalid-params', async (ctx: CheckContext) => {
    for (const stream of ['ssp.counter', 'ssp.burst'] as const) {
      for (const { params } of annexParamSamples[stream].filter((sample) => !sample.valid && isLargeAndMany(sample.params))) {
        const answer = await ctx.send({ ssp: 1, type: 'open', stream, params });
        expectErrorCode(ctx, answer, 'invalid-params', `${stream} ${JSON.stringify(params)}`);
        ctx.assert(answer.status === 422, `${stream} ${JSON.stringify(params)}: expected status 422, got ${answer.status}`);
      }
    }
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-5', 'MUST give annex event data exactly the members §20.3 lists', async (ctx: CheckContext) => {
    assertMembers(ctx, (await readAll(ctx, 'ssp.counter', { count: 2 })).events, ['n'], 'ssp.counter');
    assertMembers(ctx, (await readAll(ctx, 'ssp.counter', { count: 2, size: 1 })).events, ['n', 'pad'], 'ssp.counter size 1');
    assertMembers(ctx, (await readAll(ctx, 'ssp.burst', { count: 2, size: 1 })).events, ['n', 'pad'], 'ssp.burst size 1');
    assertMembers(ctx, (await readAll(ctx, 'ssp.fail', { after: 2 })).events, ['n'], 'ssp.fail');
    const ticker = await ctx.open('ssp.ticker', { intervalMs: 10 });
    const { events, sig } = await readEvents(ctx, ticker.body.sig, 2);
    assertMembers(ctx, events, ['n', 'sentAt'], 'ssp.ticker');
    await ctx.close(sig);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-6', 'MUST pad annex events with size × "x" when size > 0, and not at all when size is 0', async (ctx: CheckContext) => {
    for (const [stream, size] of [['ssp.counter', 0], ['ssp.counter', 5], ['ssp.burst', 0], ['ssp.burst', 300]] as const) {
      for (const event of (await readAll(ctx, stream, { count: 2, size })).events) {
        const pad = dataOf(event).pad;
        ctx.assert(size === 0 ? pad === undefined : pad === 'x'.repeat(size), `${stream} size ${size}: event ${event.seq} pad ${JSON.stringify(pad)?.slice(0, 40)}`);
      }
    }
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-7', 'MUST produce count ssp.counter events with seq i and n = i', async (ctx: CheckContext) => {
    const count = retainedAtMost(ctx, 7);
    assertNumbered(ctx, (await readAll(ctx, 'ssp.counter', { count })).events, count, 'ssp.counter');
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-8', 'MUST NOT append counter or ticker event i before i × intervalMs after open', async (ctx: CheckContext) => {
    const intervalMs = 150;
    for (const stream of ['ssp.counter', 'ssp.ticker']) {
      const started = performance.now();
      const session = await ctx.open(stream, stream === 'ssp.counter' ? { count: 3, intervalMs } : { intervalMs });
      let sig = session.body.sig;
      let received = 0;
      for (let polls = 0; polls < 10 && received < 3; polls++) {
        const batch = expectBatch(ctx, await ctx.poll(sig), `${stream} poll ${polls + 1}`);
        const at = performance.now() - started;
        for (const event of batch.events) {
          ctx.assert(at >= event.seq * intervalMs, `${stream} intervalMs ${intervalMs}: event ${event.seq} was received ${Math.round(at)} ms after the open was sent`);
        }
        received = Math.max(received, lastSeq(batch.events));
        sig = batch.sig;
      }
      ctx.assert(received >= 3, `${stream}: only ${received} events within 10 polls`);
      await ctx.close(sig);
    }
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-9', 'MUST end ssp.counter at once after its last event with complete, last = count, advice none', async (ctx: CheckContext) => {
    const count = retainedAtMost(ctx, 3);
    const termination = await assertEndsAtOnce(ctx, 'ssp.counter', { count }, count);
    ctx.assert(termination.reason === 'complete' && termination.last === count && termination.advice.action === 'none', `ssp.counter count ${count} ended with ${JSON.stringify(termination)}`);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-10', 'MUST mark ssp.counter and ssp.ticker resumable in discovery', async (ctx: CheckContext) => {
    const document = jsonOf(ctx, await ctx.raw({ method: 'GET' }), 'GET') as { streams?: Array<{ name?: unknown; resumable?: unknown }> };
    for (const name of ['ssp.counter', 'ssp.ticker']) {
      const entry = document.streams?.find((stream) => stream.name === name);
      ctx.assert(entry?.resumable === true, `${name}: discovery entry ${JSON.stringify(entry ?? null)} is not resumable: true`);
    }
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-11', 'MUST give ssp.ticker events n = seq and sentAt = integer epoch ms when appended', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.ticker', { intervalMs: 10 });
    const { events, sig } = await readEvents(ctx, session.body.sig, 5);
    let previous = 0;
    for (const event of events) {
      const { n, sentAt } = dataOf(event);
      ctx.assert(n === event.seq, `ssp.ticker: event ${event.seq} has n ${JSON.stringify(n)}`);
      // Epoch ms after 2020 and never decreasing: a clock reading, whichever the server's clock.
      ctx.assert(Number.isInteger(sentAt) && (sentAt as number) > 1_577_836_800_000 && (sentAt as number) >= previous, `ssp.ticker: event ${event.seq} sentAt ${JSON.stringify(sentAt)} after ${previous}`);
      previous = sentAt as number;
    }
    await ctx.close(sig);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-12', 'MUST NOT end ssp.ticker on its own', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.ticker', { intervalMs: 10 });
    // readEvents fails on anything but batches: a termination among 30 events is caught.
    const { sig } = await readEvents(ctx, session.body.sig, 30);
    expectTermination(ctx, await ctx.close(sig), 'close of the ticker', 'closed');
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-13', 'MUST append all ssp.burst events with seq i and n = i at open', async (ctx: CheckContext) => {
    const count = retainedAtMost(ctx, 4);
    const session = await ctx.open('ssp.burst', { count });
    const { events } = await readAtOnce(ctx, session.body.sig, count, `ssp.burst count ${count} right after open`);
    assertNumbered(ctx, events, count, 'ssp.burst (hold 0 polls right after open)');
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-14', 'MUST end ssp.burst at once after its events with complete, last = count, advice none', async (ctx: CheckContext) => {
    const count = retainedAtMost(ctx, 3);
    const termination = await assertEndsAtOnce(ctx, 'ssp.burst', { count }, count);
    ctx.assert(termination.reason === 'complete' && termination.last === count && termination.advice.action === 'none', `ssp.burst count ${count} ended with ${JSON.stringify(termination)}`);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-15', 'MUST append `after` ssp.fail events with data exactly {n: i} at open', async (ctx: CheckContext) => {
    const after = retainedAtMost(ctx, 3);
    const session = await ctx.open('ssp.fail', { after });
    const { events } = await readAtOnce(ctx, session.body.sig, after, `ssp.fail after ${after} right after open`);
    const got = events.map((event) => JSON.stringify([event.seq, event.data])).join();
    const expected = Array.from({ length: after }, (_, i) => JSON.stringify([i + 1, { n: i + 1 }])).join();
    ctx.assert(got === expected, `ssp.fail after ${after}: expected seq/data ${expected}, got ${got}`);
  }, { needs: ['annex'] }),
  check('SSP-ANNEX-16', 'MUST end ssp.fail at once after its events with error, last = after, the message and advice none', async (ctx: CheckContext) => {
    const message = 'annex failure 16';
    const after = retainedAtMost(ctx, 2);
    const termination = await assertEndsAtOnce(ctx, 'ssp.fail', { after, message }, after);
    ctx.assert(
      termination.reason === 'error' && termination.last === after && termination.error?.message === message && termination.advice.action === 'none',
      `ssp.fail after ${after}: ended with ${JSON.stringify(termination)}`,
    );
  }, { needs: ['annex'] }),
];
