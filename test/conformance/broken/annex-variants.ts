// Broken variants of the conformance annex streams (each targets sessions of one stream).
import { withMessage, type ProxyRequest, type ProxyResponse, type ProxyTools, type Variant } from './proxy.ts';
import { isLargeAndMany } from '../../../conformance/checks/annex-params.ts';
import { edit, eventsOf, isBatch, laterDiscovery, mapData, sigOf, type Message } from './rewrite.ts';

/** Rewrite batches of sessions of `stream` only. */
function batchesOf(stream: string, change: (res: ProxyResponse, req: ProxyRequest) => ProxyResponse): Variant['create'] {
  return ({ openOf }: ProxyTools) => ({
    response: (res, req) => (isBatch(res) && openOf(sigOf(req) ?? '')?.stream === stream ? change(res, req) : res),
  });
}

export const annexVariants: Variant[] = [
  {
    name: 'fail-default-message-ignored',
    violates: 'SSP-ANNEX-3: ssp.fail without message does not apply the default "conformance failure"',
    breaks: ['SSP-ANNEX-3'],
    create: () => ({
      request: (req) => {
        const params = req.message?.params as Message | undefined;
        return req.message?.type === 'open' && req.message.stream === 'ssp.fail' && params && !('message' in params) ? withMessage(req, { ...req.message, params: { ...params, message: 'failed' } }) : req;
      },
    }),
  },
  {
    name: 'accepts-out-of-range-params',
    violates: 'SSP-ANNEX-4: ssp.counter accepts count above 10000 (clamped)',
    breaks: ['SSP-ANNEX-4', 'SSP-DISCOVERY-7'],
    consequences: 'the advertised params schema (DISCOVERY-7) rejects what the server now accepts',
    create: () => ({
      request: (req) => {
        const params = req.message?.params as Message | undefined;
        return req.message?.type === 'open' && req.message.stream === 'ssp.counter' && typeof params?.count === 'number' && params.count > 10_000
          ? withMessage(req, { ...req.message, params: { ...params, count: 10_000 } })
          : req;
      },
    }),
  },
  {
    name: 'accepts-many-large-events',
    violates: 'SSP-ANNEX-21: ssp.burst accepts more than 16 events above size 256 (clamped to 16)',
    breaks: ['SSP-ANNEX-21', 'SSP-ANNEX-4', 'SSP-DISCOVERY-7'],
    consequences: 'ANNEX-4 and DISCOVERY-7 send the same out-of-range samples',
    create: () => ({
      request: (req) => {
        const params = req.message?.params as Message | undefined;
        return req.message?.type === 'open' && req.message.stream === 'ssp.burst' && params && isLargeAndMany(params)
          ? withMessage(req, { ...req.message, params: { ...params, count: 16 } })
          : req;
      },
    }),
  },
  {
    name: 'ticker-extra-member',
    violates: 'SSP-ANNEX-5: ssp.ticker data carries a member §20.3 does not list',
    breaks: ['SSP-ANNEX-5'],
    create: batchesOf('ssp.ticker', (res) => mapData(res, (data) => ({ ...data, source: 'proxy' }))),
  },
  {
    name: 'long-pad',
    violates: 'SSP-ANNEX-6: ssp.burst pads are one character longer than size',
    breaks: ['SSP-ANNEX-6'],
    create: batchesOf('ssp.burst', (res) => mapData(res, (data) => (typeof data.pad === 'string' && data.pad.length < 1000 ? { ...data, pad: `${data.pad}x` } : data))),
  },
  {
    name: 'counter-off-by-one',
    violates: 'SSP-ANNEX-7: ssp.counter event i carries n = i + 1',
    breaks: ['SSP-ANNEX-7', 'SSP-DELIVERY-1'],
    consequences: 'DELIVERY-1 reads production order from ssp.counter\'s n',
    create: batchesOf('ssp.counter', (res) => mapData(res, (data) => ({ ...data, n: (data.n as number) + 1 }))),
  },
  {
    name: 'counter-interval-halved',
    violates: 'SSP-ANNEX-8: ssp.counter appends events at half the requested interval',
    breaks: ['SSP-ANNEX-8'],
    create: () => ({
      request: (req) => {
        const params = req.message?.params as Message | undefined;
        return req.message?.type === 'open' && req.message.stream === 'ssp.counter' && typeof params?.intervalMs === 'number' && params.intervalMs > 0 && params.intervalMs <= 10_000
          ? withMessage(req, { ...req.message, params: { ...params, intervalMs: Math.floor(params.intervalMs / 2) } })
          : req;
      },
    }),
  },
  {
    name: 'counter-not-resumable',
    violates: 'SSP-ANNEX-10: discovery marks ssp.counter resumable: false',
    breaks: ['SSP-ANNEX-10'],
    create: laterDiscovery((document) => ({ ...document, streams: (document.streams as Message[]).map((stream) => (stream.name === 'ssp.counter' ? { ...stream, resumable: false } : stream)) })),
  },
  {
    name: 'ticker-sent-at-string',
    violates: 'SSP-ANNEX-11: ssp.ticker sentAt is an ISO date string, not epoch milliseconds',
    breaks: ['SSP-ANNEX-11'],
    create: batchesOf('ssp.ticker', (res) => mapData(res, (data) => ({ ...data, sentAt: new Date(data.sentAt as number).toISOString() }))),
  },
  {
    name: 'ticker-ends',
    violates: 'SSP-ANNEX-12: ssp.ticker ends with complete after event 10',
    breaks: ['SSP-ANNEX-12'],
    create: batchesOf('ssp.ticker', (res, req) =>
      (eventsOf(res)[0]?.seq ?? 0) > 10 ? { ...res, message: { ssp: 1, type: 'termination', sig: sigOf(req), reason: 'complete', last: 10, advice: { action: 'none' } } } : res,
    ),
  },
  {
    name: 'burst-trickles',
    violates: 'SSP-ANNEX-13: a small ssp.burst appends its events one every 500 ms instead of all at open',
    breaks: ['SSP-ANNEX-13', 'SSP-BATCH-3', 'SSP-HOLD-1', 'SSP-TERMINATION-1', 'SSP-TERMINATION-18'],
    consequences: 'the first poll then misses events that a batch SHOULD carry (BATCH-3), and a poll that finds events available is answered only when the next one trickles in, 500 ms later (HOLD-1); a burst read to its end in quick polls has not ended by the fiftieth (TERMINATION-1: fifty polls would have to take 2.5 s); a burst closed right after its open has produced only its first event, so the closed termination\'s last is below the count TERMINATION-18 expects of a whole burst',
    // Served by ssp.counter with intervalMs 500 (same event data), renamed back in the session
    // answer: slow enough that even a loaded runner's first poll finds the burst incomplete,
    // and its fifty quick polls end before the burst does (at 200 ms, a runner on a machine
    // with load 10 read the whole burst within fifty polls).
    create: () => {
      const rewritten = new WeakSet<ProxyRequest>();
      return {
        request: (req) => {
          const params = req.message?.params as Message | undefined;
          const plain = params !== undefined && Object.keys(params).every((name) => name === 'count' || name === 'size');
          if (req.message?.type !== 'open' || req.message.stream !== 'ssp.burst' || !plain || typeof params.count !== 'number' || params.count > 5) return req;
          const counter = withMessage(req, { ...req.message, stream: 'ssp.counter', params: { ...params, intervalMs: 500 } });
          rewritten.add(counter);
          return counter;
        },
        response: (res, req) => (rewritten.has(req) && res.message?.type === 'session' ? edit(res, { stream: 'ssp.burst' }) : res),
      };
    },
  },
  {
    name: 'fail-data-as-string',
    violates: 'SSP-ANNEX-15: ssp.fail event data n is a string',
    breaks: ['SSP-ANNEX-15'],
    create: batchesOf('ssp.fail', (res) => mapData(res, (data) => ({ ...data, n: String(data.n) }))),
  },
  {
    name: 'fail-terminates-first',
    violates: 'SSP-TERMINATION-1: ssp.fail answers its first poll with the termination, before its events',
    breaks: ['SSP-TERMINATION-1', 'SSP-TERMINATION-18', 'SSP-ANNEX-15', 'SSP-ANNEX-16'],
    consequences: 'the skipped events are the ones TERMINATION-18 (last after the last event), ANNEX-15 (ssp.fail appends them) and ANNEX-16 (read to the end first) observe',
    create: ({ openOf, forward }) => ({
      response: async (res, req) => {
        const sig = sigOf(req);
        if (!isBatch(res) || eventsOf(res).length === 0 || sig === undefined || openOf(sig)?.stream !== 'ssp.fail') return res;
        const end = await forward(withMessage(req, { ...req.message, sig: res.message?.sig, hold: 0 }));
        return end.message?.type === 'termination' ? end : res;
      },
    }),
  },
];
