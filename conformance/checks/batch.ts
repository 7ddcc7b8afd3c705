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

/**
 * Room a server may keep free when it fills a batch, for what it cannot know before it signs:
 * a longer signature (16 bytes) and a gap member (SSP-DELIVERY-9) of the stream's size.
 */
function reserveBytes(seq: number): number {
  return 16 + `,"gap":{"from":${seq},"to":${seq}}`.length;
}

/**
 * Whether ssp.burst event `seq` ({n: seq}, no pad) would have fit into `batch` (SSP-BATCH-3
 * "fits within both limits"): fewer than maxBatchEvents events, and the body with it no longer
 * than maxBatchBytes. The grown body is estimated from the received one, scaled by how the
 * compact JSON grows (so a server's own whitespace counts), plus what a server may reserve.
 */
function nextWouldFit(ctx: CheckContext, batch: BatchMessage, bytes: number, seq: number): boolean {
  const { maxBatchEvents, maxBatchBytes } = ctx.discovery.limits;
  if (batch.events.length >= maxBatchEvents) return false;
  const compact = Buffer.byteLength(JSON.stringify(batch), 'utf8');
  const grown = Buffer.byteLength(JSON.stringify({ ...batch, events: [...batch.events, { seq, data: { n: seq } }] }), 'utf8');
  return Math.ceil((bytes * grown) / compact) + reserveBytes(seq) <= maxBatchBytes;
}

export const batchChecks: Check[] = [
  check('SSP-BATCH-1', 'MUST NOT put more than maxBatchEvents events in a batch', async (ctx: CheckContext) => {
    const { maxBatchEvents } = ctx.discovery.limits;
    const count = Math.min(2 * maxBatchEvents + 1, 10_000);
    const session = await ctx.open('ssp.burst', { count });
    // A small maxBatchBytes may leave one event per batch: a poll per event at most.
    for (const { batch } of await readSized(ctx, session.body.sig, count + 2)) {
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
    const count = 5;
    const session = await ctx.open('ssp.burst', { count });
    let delivered = 0;
    for (const { batch, bytes } of await readSized(ctx, session.body.sig, count + 2)) {
      delivered = Math.max(delivered, ...batch.events.map((event) => event.seq));
      if (delivered >= count) break;
      ctx.assert(!nextWouldFit(ctx, batch, bytes, delivered + 1), `${count} small events were available, a batch of ${bytes} bytes has ${batch.events.length}, and event ${delivered + 1} would have fit (maxBatchEvents ${ctx.discovery.limits.maxBatchEvents}, maxBatchBytes ${ctx.discovery.limits.maxBatchBytes})`);
    }
  }, { needs: ['annex'] }),
];
