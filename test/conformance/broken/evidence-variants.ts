// Faults the second-edition runner catches (issue 9 §1): header rules broken only on the
// answers a dedicated check does not probe, and timing off by a factor no fixed allowance saw.
import { withMessage, type Variant } from './proxy.ts';
import { eventsOf, headers, isBatch, isPoll, sleep } from './rewrite.ts';

const corsNames = { 'access-control-allow-origin': null, 'access-control-allow-credentials': null, 'access-control-expose-headers': null, vary: null };

export const evidenceVariants: Variant[] = [
  {
    name: 'no-cache-control-on-held-answers',
    violates: 'SSP-TRANSPORT-5: answers to polls that may be held (hold omitted or above 0) lack Cache-Control',
    breaks: ['SSP-TRANSPORT-5'],
    alsoRun: ['HOLD'],
    create: () => ({ response: (res, req) => (isPoll(req) && req.message?.hold !== 0 ? headers({ 'cache-control': null })(res) : res) }),
  },
  {
    name: 'no-cors-on-session-answers',
    violates: 'SSP-CORS-6: successful open, poll and close answers lack the CORS headers that discovery, preflights and errors carry',
    breaks: ['SSP-CORS-6'],
    create: () => ({ response: (res, req) => (req.method === 'POST' && res.status === 200 ? headers(corsNames)(res) : res) }),
  },
  {
    name: 'batch-delay-ten-times',
    violates: 'SSP-HOLD-1, SSP-HOLD-4: batches with events are answered ten times batchDelayMs after the events are available',
    breaks: ['SSP-HOLD-1', 'SSP-HOLD-4'],
    consequences: 'HOLD-1 (events waiting) and HOLD-4 (events appended during the hold) are the two cases of the same delay',
    create: ({ limits }) => ({
      response: async (res, req) => {
        if (isPoll(req) && isBatch(res) && eventsOf(res).length > 0) await sleep(9 * limits.batchDelayMs);
        return res;
      },
    }),
  },
  {
    name: 'holds-end-250ms-early',
    violates: 'SSP-HOLD-3, SSP-HOLD-6: a quiet poll is answered 250 ms before its effective hold passes',
    breaks: ['SSP-HOLD-3', 'SSP-HOLD-6'],
    consequences: 'the effective hold (HOLD-6) is the time HOLD-3 requires holding for',
    create: ({ limits }) => ({
      request: (req) => {
        const asked = req.message?.hold;
        // Only valid polls: a malformed hold (a string, an unsafe integer) must reach the server as it was sent.
        if (!isPoll(req) || (asked !== undefined && !(Number.isSafeInteger(asked) && (asked as number) >= 0))) return req;
        const effective = typeof asked === 'number' ? Math.min(asked, limits.maxHoldMs) : limits.maxHoldMs;
        return effective > 250 ? withMessage(req, { ...req.message, hold: effective - 250 }) : req;
      },
    }),
  },
  {
    name: 'gap-while-retained',
    violates: 'SSP-DELIVERY-11: the first batch of a burst no longer than retainEvents announces its first event lost although it is retained',
    breaks: ['SSP-DELIVERY-11'],
    create: ({ limits, openOf }) => ({
      response: (res, req) => {
        const open = typeof req.message?.sig === 'string' ? openOf(req.message.sig) : undefined;
        const count = (open?.params as { count?: number } | undefined)?.count ?? 0;
        const events = eventsOf(res);
        // A burst longer than retainEvents may legally have lost its head; this one has not.
        if (!isPoll(req) || !isBatch(res) || res.message?.gap || open?.stream !== 'ssp.burst' || count !== limits.retainEvents || events[0]?.seq !== 1 || events.length < 2) return res;
        return { ...res, message: { ...res.message, gap: { from: 1, to: 1 }, events: events.slice(1) } };
      },
    }),
  },
];
