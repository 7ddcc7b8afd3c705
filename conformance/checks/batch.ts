// Spec §11 Batches: at most maxBatchEvents events; a body of at most maxBatchBytes UTF-8
// bytes unless the batch holds exactly one event; every available event that fits.
import { check, NotTestable } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import type { BatchMessage, ServerMessage } from '../../schemas/types.gen.ts';
import { asAnswer, expectBatch } from './answers.ts';

interface SizedBatch {
  batch: BatchMessage;
  bytes: number;
}

/** Read a session to its end through raw polls, keeping every batch's body size in bytes. */
async function readSized(ctx: CheckContext, sig: string, maxPolls = 50): Promise<SizedBatch[]> {
  const batches: SizedBatch[] = [];
  let current = sig;
  for (let polls = 0; polls < maxPolls; polls++) {
    const raw = await ctx.raw({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ssp: 1, type: 'poll', sig: current }) });
    const answer = asAnswer(ctx, raw, `poll ${polls + 1}`);
    if (answer.status === 200 && (answer.body as ServerMessage).type === 'termination') return batches;
    const batch = expectBatch(ctx, answer, `poll ${polls + 1}`);
    batches.push({ batch, bytes: Buffer.byteLength(raw.text, 'utf8') });
    current = batch.sig;
  }
  return ctx.fail(`no termination after ${maxPolls} polls`);
}

export const batchChecks: Check[] = [
  check('SSP-BATCH-1', 'MUST NOT put more than maxBatchEvents events in a batch', async (ctx: CheckContext) => {
    const { maxBatchEvents } = ctx.discovery.limits;
    const count = Math.min(2 * maxBatchEvents + 1, 10_000);
    const session = await ctx.open('ssp.burst', { count });
    for (const { batch } of await readSized(ctx, session.body.sig)) {
      ctx.assert(batch.events.length <= maxBatchEvents, `batch of ${batch.events.length} events, maxBatchEvents is ${maxBatchEvents}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-BATCH-2/several-events', 'MUST NOT send a batch of several events longer than maxBatchBytes', async (ctx: CheckContext) => {
    const { maxBatchBytes, maxBatchEvents } = ctx.discovery.limits;
    // Events of a third of the limit: two fit in a batch, three do not.
    const size = Math.min(Math.floor(maxBatchBytes / 3), 65_536);
    const count = Math.min(6, 3 * maxBatchEvents);
    const session = await ctx.open('ssp.burst', { count, size });
    for (const { batch, bytes } of await readSized(ctx, session.body.sig)) {
      if (batch.events.length > 1) ctx.assert(bytes <= maxBatchBytes, `batch of ${batch.events.length} events is ${bytes} bytes, maxBatchBytes is ${maxBatchBytes}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-BATCH-2/one-event', 'MUST send events larger than maxBatchBytes one per batch', async (ctx: CheckContext) => {
    const { maxBatchBytes } = ctx.discovery.limits;
    const size = maxBatchBytes + 100;
    if (size > 65_536) throw new NotTestable(`maxBatchBytes ${maxBatchBytes} leaves no room for a larger annex event (size <= 65536)`);
    const session = await ctx.open('ssp.burst', { count: 3, size });
    const batches = await readSized(ctx, session.body.sig);
    for (const { batch, bytes } of batches) {
      ctx.assert(batch.events.length <= 1, `a batch of ${bytes} bytes carries ${batch.events.length} events, maxBatchBytes is ${maxBatchBytes}`);
    }
  }, { needs: ['annex'] }),
  check('SSP-BATCH-3', 'SHOULD put every available event that fits the limits into the batch', async (ctx: CheckContext) => {
    const { maxBatchEvents } = ctx.discovery.limits;
    const count = Math.min(5, maxBatchEvents);
    const session = await ctx.open('ssp.burst', { count });
    const batch = expectBatch(ctx, await ctx.poll(session.body.sig), 'first poll');
    ctx.assert(batch.events.length === count, `${count} small events were available, the batch has ${batch.events.length}`);
  }, { needs: ['annex'] }),
];
