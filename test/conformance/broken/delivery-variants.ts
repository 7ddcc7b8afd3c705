// Broken variants of delivery, holding and batching.
import type { Limits } from '../../../reference-server/index.ts';
import { withMessage, type ProxyRequest, type ProxyResponse, type Variant, type VariantHooks } from './proxy.ts';
import { edit, eventsOf, isBatch, isPoll, sigOf, sleep, type Event } from './rewrite.ts';

type Gap = { from: number; to: number };

/** Later than any timing check allows: batchDelayMs + the runner's tolerance (max(250, maxHoldMs / 5)) + 100 ms. */
const lateBy = (limits: { batchDelayMs: number; maxHoldMs: number }) => limits.batchDelayMs + Math.max(250, limits.maxHoldMs / 5) + 100;
const gapOf = (message: Record<string, unknown> | undefined) => message?.gap as Gap | undefined;

/**
 * Hooks that hold back a poll's batch by lateBy(limits) when `late` says so; `elapsedMs` is how
 * long the server took to answer (from forwarding the request to receiving its batch).
 */
function answersLate(limits: Limits, late: (res: ProxyResponse, req: ProxyRequest, elapsedMs: number) => boolean): VariantHooks {
  const started = new WeakMap<ProxyRequest, number>();
  return {
    request: (req) => {
      started.set(req, performance.now());
      return req;
    },
    response: async (res, req) => {
      const elapsedMs = performance.now() - (started.get(req) ?? performance.now());
      if (isPoll(req) && isBatch(res) && late(res, req, elapsedMs)) await sleep(lateBy(limits));
      return res;
    },
  };
}

export const deliveryVariants: Variant[] = [
  {
    name: 'repeats-acknowledged-event',
    violates: 'SSP-DELIVERY-3: a poll at position p > 0 gets event p again at the head of its batch',
    breaks: ['SSP-DELIVERY-3', 'SSP-DELIVERY-4', 'SSP-DELIVERY-1', 'SSP-DELIVERY-12'],
    consequences: 'the batch then starts at p, not p + 1 (DELIVERY-4, and DELIVERY-12 which observes positions that way), and the delivered sequence repeats an event (DELIVERY-1)',
    create: ({ limits }) => {
      // The last event of each batch, by the signature that batch issued (its position).
      const lastBySig = new Map<string, Event>();
      return {
        response: (res, req) => {
          if (!isPoll(req) || !isBatch(res)) return res;
          const events = eventsOf(res);
          const previous = lastBySig.get(sigOf(req) ?? '');
          const last = events[events.length - 1];
          // An empty batch may issue the very signature an earlier batch did (same position,
          // same expiry second): polls with it then come after nothing to repeat.
          if (typeof res.message?.sig === 'string') {
            if (last) lastBySig.set(res.message.sig, last);
            else lastBySig.delete(res.message.sig);
          }
          // Small, non-full batches only, so the batch limits (BATCH-1, BATCH-2) still hold.
          const fits = events.length > 0 && events.length < limits.maxBatchEvents && (events[0]!.data as { pad?: unknown }).pad === undefined;
          return previous && fits && !res.message?.gap ? edit(res, { events: [previous, ...events] }) : res;
        },
      };
    },
  },
  {
    name: 'evicts-too-much',
    violates: 'SSP-DELIVERY-8: fewer than retainEvents unacknowledged events are kept (5 more are announced lost)',
    breaks: ['SSP-DELIVERY-8'],
    create: () => ({
      response: (res) => {
        const gap = gapOf(res.message);
        if (!isBatch(res) || !gap) return res;
        const events = eventsOf(res).slice(5);
        return events.length === 0 ? res : edit(res, { gap: { from: gap.from, to: events[0]!.seq - 1 }, events });
      },
    }),
  },
  {
    name: 'gap-ends-early',
    violates: 'SSP-DELIVERY-14: a batch with a gap starts after gap.to + 1 (gap.to one too small)',
    breaks: ['SSP-DELIVERY-14', 'SSP-DELIVERY-9'],
    consequences: 'DELIVERY-9 requires gap.to = r - 1 for the first event r',
    create: () => ({
      response: (res) => {
        const gap = gapOf(res.message);
        return isBatch(res) && gap && gap.to > gap.from ? edit(res, { gap: { from: gap.from, to: gap.to - 1 } }) : res;
      },
    }),
  },
  {
    name: 'gap-over-retained-event',
    violates: 'SSP-DELIVERY-11: the second gap of a session also covers its first retained event',
    breaks: ['SSP-DELIVERY-11'],
    create: ({ sessionOf }) => {
      const gaps = new Map<number, number>();
      return {
        response: (res, req) => {
          const gap = gapOf(res.message);
          const session = sessionOf(sigOf(req) ?? '');
          if (!isBatch(res) || !gap || session === undefined || eventsOf(res).length < 2) return res;
          gaps.set(session, (gaps.get(session) ?? 0) + 1);
          if (gaps.get(session) !== 2) return res;
          const [first, ...events] = eventsOf(res);
          return edit(res, { gap: { from: gap.from, to: first!.seq }, events });
        },
      };
    },
  },
  {
    name: 'slow-when-events-ready',
    violates: 'SSP-HOLD-1: a poll that finds events waiting is answered well after batchDelayMs',
    breaks: ['SSP-HOLD-1'],
    create: ({ limits }) => answersLate(limits, (res, _req, elapsedMs) => eventsOf(res).length > 0 && elapsedMs < 50),
  },
  {
    name: 'slow-after-hold',
    violates: 'SSP-HOLD-4: a held poll is answered well after the event was appended',
    breaks: ['SSP-HOLD-4'],
    create: ({ limits }) => answersLate(limits, (res, _req, elapsedMs) => eventsOf(res).length > 0 && elapsedMs >= 100),
  },
  {
    name: 'empty-batch-rewinds',
    violates: 'SSP-HOLD-5: an empty batch after a passed hold carries the session\'s first signature (position 0)',
    breaks: ['SSP-HOLD-5'],
    create: ({ sessionOf, openOf }) => {
      const first = new Map<number, string>();
      return {
        response: (res, req) => {
          const sig = res.message?.sig;
          const session = typeof sig === 'string' ? sessionOf(sig) : undefined;
          // A multiplexed session's first signature also names its first set of streams
          // (SSP-MUX): rewinding there would break the stream set, not only the position.
          if (session === undefined || ((openOf(sig as string)?.extensions ?? []) as unknown[]).includes('multiplex')) return res;
          if (res.message?.type === 'session') first.set(session, sig as string);
          const rewound = first.get(session);
          const hold = req.message?.hold;
          // Only answers whose hold passed (hold 0 included), not superseded ones.
          const passed = hold === 0 || hold === undefined;
          return isPoll(req) && isBatch(res) && eventsOf(res).length === 0 && passed && rewound ? edit(res, { sig: rewound }) : res;
        },
      };
    },
  },
  {
    name: 'hold-zero-waits',
    violates: 'SSP-HOLD-7: a poll with hold 0 is held for 400 ms',
    breaks: ['SSP-HOLD-7'],
    create: ({ limits }) => ({
      request: (req) => (isPoll(req) && req.message?.hold === 0 ? withMessage(req, { ...req.message, hold: Math.min(400, limits.maxHoldMs) }) : req),
    }),
  },
  {
    name: 'superseded-answered-late',
    violates: 'SSP-HOLD-10: a superseded held poll is answered only after a delay',
    breaks: ['SSP-HOLD-10', 'SSP-MUX-6'],
    consequences: 'a multiplexed poll that carries an addition is answered at once with no stream part, an empty batch well before its hold, so the same delay holds it back (MUX-6)',
    create: ({ limits }) =>
      answersLate(limits, (res, req, elapsedMs) => {
        // An empty batch well before its hold passed is the answer to a superseded poll.
        const hold = typeof req.message?.hold === 'number' ? req.message.hold : limits.maxHoldMs;
        return eventsOf(res).length === 0 && hold > 0 && elapsedMs < Math.min(hold, limits.maxHoldMs) - 100;
      }),
  },
  {
    name: 'merges-large-batches',
    violates: 'SSP-BATCH-2: batches of padded events are merged past maxBatchBytes',
    breaks: ['SSP-BATCH-2'],
    create: ({ forward }) => ({
      response: async (res, req) => {
        const events = eventsOf(res);
        if (!isPoll(req) || !isBatch(res) || events.length < 2 || (events[0]!.data as { pad?: unknown }).pad === undefined) return res;
        const next = await forward(withMessage(req, { ...req.message, sig: res.message?.sig, hold: 0 }));
        if (!isBatch(next) || eventsOf(next).length === 0 || next.message?.gap !== undefined) return res;
        return edit(res, { sig: next.message?.sig, events: [...events, ...eventsOf(next)] });
      },
    }),
  },
];
