// Broken variants for the failures issue 4 names (accepts a tampered signature, a hole in
// seq, loses a superseded poll's events, holds past the maximum, never terminates, skips
// Cache-Control, serves a closed session, skips evicted events) and their close neighbours.
import { jsonResponse, withMessage, type ProxyRequest, type Variant } from './proxy.ts';
import { eventsOf, headers, isBatch, isPoll, sleep, statusForError, type Message } from './rewrite.ts';

export const issueExampleVariants: Variant[] = [
  {
    name: 'no-cache-control',
    violates: 'SSP-TRANSPORT-5: responses lack Cache-Control: no-store',
    breaks: ['SSP-TRANSPORT-5'],
    create: () => ({ response: headers({ 'cache-control': null }) }),
  },
  {
    name: 'json-without-charset',
    violates: 'SSP-TRANSPORT-6: Content-Type application/json without charset=utf-8',
    breaks: ['SSP-TRANSPORT-6'],
    create: () => ({ response: headers({ 'content-type': 'application/json' }) }),
  },
  {
    name: 'accepts-any-media-type',
    violates: 'SSP-TRANSPORT-4: a POST of another media type is processed instead of 415',
    breaks: ['SSP-TRANSPORT-4', 'SSP-TRANSPORT-16', 'SSP-ERROR-2', 'SSP-ERROR-3', 'SSP-MESSAGE-8'],
    consequences: 'no request can trigger unsupported-media-type any more, so the malformed Content-Type check (TRANSPORT-16), its status/retryable checks (ERROR-2, ERROR-3) and the processing-order check (MESSAGE-8, SHOULD) cannot see it',
    create: () => ({
      request: (req) => {
        if (req.method !== 'POST' || /^(application\/json|text\/plain)\s*(;\s*charset="?utf-8"?)?$/i.test(req.headers['content-type'] ?? '')) return req;
        return { ...req, headers: { ...req.headers, 'content-type': 'application/json' } };
      },
    }),
  },
  {
    name: 'method-not-allowed-without-allow',
    violates: 'SSP-TRANSPORT-14: 405 without the Allow header',
    breaks: ['SSP-TRANSPORT-14'],
    create: () => ({ response: (res) => (res.status === 405 ? headers({ allow: null })(res) : res) }),
  },
  {
    name: 'reads-whole-body',
    violates: 'SSP-TRANSPORT-9: waits for the whole body before answering 413',
    breaks: ['SSP-TRANSPORT-9'],
    bufferWholeBody: true,
    create: () => ({}),
  },
  {
    name: 'wildcard-with-credentials',
    violates: 'SSP-CORS-4: Access-Control-Allow-Origin * together with Allow-Credentials: true',
    breaks: ['SSP-CORS-4'],
    create: () => ({ response: headers({ 'access-control-allow-origin': '*' }) }),
  },
  {
    name: 'no-vary-origin',
    violates: 'SSP-CORS-5: echoes the Origin without Vary: Origin',
    breaks: ['SSP-CORS-5'],
    create: () => ({ response: headers({ vary: null }) }),
  },
  {
    name: 'preflight-without-methods',
    violates: 'SSP-CORS-9: preflight answer without Access-Control-Allow-Methods',
    breaks: ['SSP-CORS-9'],
    create: () => ({ response: headers({ 'access-control-allow-methods': null }) }),
  },
  {
    name: 'session-not-at-zero',
    violates: 'SSP-OPEN-3: the session message says position 1',
    breaks: ['SSP-OPEN-3'],
    create: () => ({
      response: (res) => (res.message?.type === 'session' ? { ...res, message: { ...res.message, position: 1 } } : res),
    }),
  },
  {
    name: 'wrong-status-for-unknown-stream',
    violates: 'SSP-OPEN-5: unknown-stream answered with status 400 instead of 404',
    breaks: ['SSP-OPEN-5', 'SSP-ERROR-2'],
    consequences: 'ERROR-2 is the registry-status rule that OPEN-5 instantiates for unknown-stream',
    create: () => ({ response: statusForError('unknown-stream', 400) }),
  },
  {
    name: 'accepts-tampered-signatures',
    violates: 'SSP-SIGNATURE-3: a signature with one character changed is served as the genuine one',
    breaks: ['SSP-SIGNATURE-3'],
    create: ({ issued }) => ({
      request: (req) => {
        const sig = req.message?.sig;
        if (typeof sig !== 'string' || issued.has(sig)) return req;
        const genuine = [...issued].find((real) => real.length === sig.length && [...real].filter((c, i) => c !== sig[i]).length === 1);
        return genuine ? withMessage(req, { ...req.message, sig: genuine }) : req;
      },
    }),
  },
  {
    name: 'drops-an-event',
    violates: 'SSP-DELIVERY-1: one event of every large batch is never delivered (a hole in seq)',
    breaks: ['SSP-DELIVERY-1', 'SSP-DELIVERY-2'],
    consequences: 'the hole is inside a batch, so the in-batch consecutiveness rule (DELIVERY-2) breaks with it',
    create: () => ({
      response: (res) => {
        const events = eventsOf(res);
        if (!isBatch(res) || events.length < 10) return res;
        return { ...res, message: { ...res.message, events: events.filter((_, i) => i !== 4) } };
      },
    }),
  },
  {
    name: 'hides-gaps',
    violates: 'SSP-DELIVERY-9: evicted events are skipped silently (gap removed)',
    breaks: ['SSP-DELIVERY-9', 'SSP-DELIVERY-4'],
    consequences: 'a batch without gap that does not start at p + 1 is exactly what DELIVERY-4 forbids',
    create: () => ({
      response: (res) => {
        if (!isBatch(res) || res.message?.gap === undefined) return res;
        const { gap: _gap, ...rest } = res.message;
        return { ...res, message: rest };
      },
    }),
  },
  {
    name: 'ignores-older-signatures',
    violates: 'SSP-DELIVERY-6: a re-sent older signature is answered from the newest position instead of re-delivering',
    breaks: ['SSP-DELIVERY-6', 'SSP-DELIVERY-4', 'SSP-DELIVERY-9', 'SSP-HOLD-11'],
    consequences: 'answers to the re-sent position-0 signature then start past 1 without a gap (DELIVERY-4, DELIVERY-9); served as the newest, a poll at an earlier position supersedes the held poll (HOLD-11, a SHOULD)',
    create: ({ sessionOf }) => {
      const newest = new Map<number, string>();
      // Signatures the client already sent and got events for: sending one again asks for re-delivery.
      const delivered = new Set<string>();
      const redirected = new WeakMap<ProxyRequest, string>();
      return {
        request: (req) => {
          const sig = req.message?.sig;
          if (!isPoll(req) || typeof sig !== 'string' || !delivered.has(sig)) return req;
          const latest = newest.get(sessionOf(sig) ?? -1);
          if (latest === undefined) return req;
          const rewritten = withMessage(req, { ...req.message, sig: latest });
          redirected.set(rewritten, sig);
          return rewritten;
        },
        response: (res, req) => {
          const sent = redirected.get(req) ?? req.message?.sig;
          const sig = res.message?.sig;
          if (!isPoll(req) || !isBatch(res) || typeof sent !== 'string' || typeof sig !== 'string' || eventsOf(res).length === 0) return res;
          delivered.add(sent);
          newest.set(sessionOf(sig) ?? -1, sig);
          return res;
        },
      };
    },
  },
  {
    name: 'holds-past-maximum',
    violates: 'SSP-HOLD-6: a hold above maxHoldMs is not capped (answered well after maxHoldMs)',
    breaks: ['SSP-HOLD-6'],
    create: ({ limits }) => ({
      response: async (res, req) => {
        if (isPoll(req) && typeof req.message?.hold === 'number' && req.message.hold > limits.maxHoldMs) await sleep(limits.maxHoldMs / 2);
        return res;
      },
    }),
  },
  {
    name: 'holds-half',
    violates: 'SSP-HOLD-3: a poll without events is answered after half its hold',
    breaks: ['SSP-HOLD-3', 'SSP-HOLD-6'],
    consequences: 'the effective hold (HOLD-6) is the time HOLD-3 requires holding for',
    create: ({ limits }) => ({
      request: (req) => {
        const requested = req.message?.hold;
        // Only valid polls: a malformed hold must still reach the server as it was sent.
        if (!isPoll(req) || (requested !== undefined && !(Number.isSafeInteger(requested) && (requested as number) >= 0))) return req;
        const hold = Math.min(typeof requested === 'number' ? requested : limits.maxHoldMs, limits.maxHoldMs);
        return withMessage(req, { ...req.message, hold: Math.floor(hold / 2) });
      },
    }),
  },
  {
    name: 'loses-superseded-events',
    violates: 'SSP-HOLD-9: a poll that supersedes a held one gets its events dropped (its sig still advances)',
    breaks: ['SSP-HOLD-9'],
    create: () => {
      const inFlight = new Map<string, number>();
      const superseding = new WeakSet<ProxyRequest>();
      return {
        request: (req) => {
          const sig = req.message?.sig;
          if (!isPoll(req) || typeof sig !== 'string') return req;
          if ((inFlight.get(sig) ?? 0) > 0) superseding.add(req);
          inFlight.set(sig, (inFlight.get(sig) ?? 0) + 1);
          return req;
        },
        response: (res, req) => {
          const sig = req.message?.sig;
          if (!isPoll(req) || typeof sig !== 'string') return res;
          inFlight.set(sig, (inFlight.get(sig) ?? 1) - 1);
          return superseding.has(req) && isBatch(res) && eventsOf(res).length > 0 ? { ...res, message: { ...res.message, events: [] } } : res;
        },
      };
    },
  },
  {
    name: 'merges-batches',
    violates: 'SSP-BATCH-1: a full batch is merged with the next one (more than maxBatchEvents events)',
    breaks: ['SSP-BATCH-1'],
    create: ({ limits, forward }) => ({
      response: async (res, req) => {
        if (!isPoll(req) || !isBatch(res) || eventsOf(res).length !== limits.maxBatchEvents) return res;
        const next = await forward(withMessage(req, { ...req.message, sig: res.message?.sig, hold: 0 }));
        if (!isBatch(next) || next.message?.gap !== undefined) return res;
        return { ...res, message: { ...res.message, sig: next.message?.sig, events: [...eventsOf(res), ...eventsOf(next)] } };
      },
    }),
  },
  {
    name: 'withholds-termination',
    violates: 'SSP-TERMINATION-2: a poll at the end of an ended stream first gets an empty batch, not the termination',
    breaks: ['SSP-TERMINATION-2', 'SSP-ANNEX-9', 'SSP-ANNEX-14', 'SSP-ANNEX-16'],
    consequences: 'ANNEX-9, -14 and -16 are TERMINATION-2 for ssp.counter, ssp.burst and ssp.fail ("end at once")',
    create: ({ sessionOf }) => {
      const withheld = new Set<number>();
      return {
        response: (res, req) => {
          const sig = req.message?.sig;
          const session = typeof sig === 'string' ? sessionOf(sig) : undefined;
          const ended = res.message?.type === 'termination' && (res.message.reason === 'complete' || res.message.reason === 'error');
          if (!isPoll(req) || !ended || session === undefined || withheld.has(session)) return res;
          withheld.add(session);
          return jsonResponse(200, { ssp: 1, type: 'batch', sig, events: [] }, res);
        },
      };
    },
  },
  {
    name: 'fail-never-terminates',
    violates: 'SSP-TERMINATION-8: a failed stream (ssp.fail) never sends its termination; polls at its end get empty batches',
    breaks: ['SSP-TERMINATION-8', 'SSP-TERMINATION-1', 'SSP-TERMINATION-18', 'SSP-TERMINATION-14', 'SSP-TERMINATION-21', 'SSP-ANNEX-3', 'SSP-ANNEX-5', 'SSP-ANNEX-16'],
    consequences: 'every check that reads an ssp.fail stream to its end waits for that termination in vain',
    create: () => ({
      response: (res, req) =>
        isPoll(req) && res.message?.type === 'termination' && res.message.reason === 'error' ? jsonResponse(200, { ssp: 1, type: 'batch', sig: res.message.sig, events: [] }, res) : res,
    }),
  },
  {
    name: 'termination-not-repeatable',
    violates: 'SSP-TERMINATION-13: a re-sent termination signature gets a different termination body',
    breaks: ['SSP-TERMINATION-13', 'SSP-TERMINATION-14'],
    consequences: 'TERMINATION-14 is observed by re-sending the termination signature, which now gets another body',
    create: ({ sessionOf }) => {
      const terminated = new Set<number>();
      return {
        response: (res, req) => {
          const message = res.message;
          const session = typeof message?.sig === 'string' ? sessionOf(message.sig) : undefined;
          if (message?.type !== 'termination' || session === undefined) return res;
          // The first termination is the server's; a poll re-sending the termination's own sig gets another body.
          const repeat = terminated.has(session) && isPoll(req) && message.sig === req.message?.sig;
          terminated.add(session);
          return repeat ? { ...res, message: { ...message, advice: { ...(message.advice as Message), delayMs: 1 } } } : res;
        },
      };
    },
  },
  {
    name: 'close-keeps-session',
    violates: 'SSP-CLOSE-6: close is answered with a closed termination but the session goes on',
    breaks: ['SSP-CLOSE-6', 'SSP-CLOSE-3'],
    consequences: 'a session that is not closed cannot answer its held poll with the closed termination (CLOSE-3)',
    // Every "closed" session stays open: beyond the conformance cap of sessions per client, the
    // opens of unrelated checks would be refused, depending on which checks ran first.
    server: { maxSessionsPerClient: 100_000, maxSessions: 100_000 },
    create: ({ forward, issued, sessionOf, openOf }) => ({
      request: async (req) => {
        const message = req.message;
        // Only a well-formed close (ext members aside) is faked; anything else gets the server's own error. A
        // multiplexed session's closed termination carries per-stream parts (SSP-MUX-12),
        // which the proxy cannot make up: those closes are left alone.
        if (message?.type !== 'close' || message.ssp !== 1 || Object.keys(message).filter((name) => name !== 'ext').length !== 3) return req;
        const sig = String(message.sig);
        if (((openOf(sig)?.extensions ?? []) as unknown[]).includes('multiplex')) return req;
        // Validate like a close would (errors, remembered terminations pass through), but never close.
        const probe = await forward(withMessage(req, { ssp: 1, type: 'poll', sig, hold: 0 }));
        if (!isBatch(probe)) return probe;
        // `last` as a real close has it (SSP-TERMINATION-18): the newest event, read from position 0.
        const first = [...issued].find((candidate) => sessionOf(candidate) === sessionOf(sig)) ?? sig;
        const all = await forward(withMessage(req, { ssp: 1, type: 'poll', sig: first, hold: 0 }));
        const gap = all.message?.gap as { to?: number } | undefined;
        const last = Math.max(0, gap?.to ?? 0, ...eventsOf(all).map((event) => event.seq));
        return jsonResponse(200, { ssp: 1, type: 'termination', sig: probe.message?.sig, reason: 'closed', last, advice: { action: 'none' } }, probe);
      },
    }),
  },
  {
    name: 'serves-expired-sessions',
    violates: 'SSP-LIFETIME-1: polls of expired sessions (and expired signatures) are answered with empty batches',
    breaks: ['SSP-LIFETIME-1', 'SSP-LIFETIME-5', 'SSP-TERMINATION-7', 'SSP-SIGNATURE-10'],
    consequences: 'the same rewrite hides the expired termination (TERMINATION-7, LIFETIME-5) and accepts expired signatures (SIGNATURE-10)',
    create: () => ({
      response: (res, req) => {
        const expired = res.message?.code === 'session-expired' || res.message?.reason === 'expired';
        return isPoll(req) && expired ? jsonResponse(200, { ssp: 1, type: 'batch', sig: req.message?.sig, events: [] }, res) : res;
      },
    }),
  },
];
