// Broken variants of the session life cycle: open, signatures, termination, close.
import { jsonResponse, withMessage, type ProxyRequest, type ProxyResponse, type Variant } from './proxy.ts';
import { edit, isBatch, isPoll, sigOf, statusForError, type Message } from './rewrite.ts';

const signaturePattern = /^[A-Za-z0-9_.~-]{16,2048}$/;
const reason = (res: ProxyResponse) => (res.message?.type === 'termination' ? res.message.reason : undefined);
const withAdvice = (res: ProxyResponse, action: string) => edit(res, { advice: { ...(res.message?.advice as Message), action } });

export const sessionVariants: Variant[] = [
  {
    name: 'session-names-another-stream',
    violates: 'SSP-OPEN-2: the session message names a different stream than the open',
    breaks: ['SSP-OPEN-2'],
    create: () => ({ response: (res) => (res.message?.type === 'session' ? edit(res, { stream: `${String(res.message.stream)}-x` }) : res) }),
  },
  {
    name: 'requires-params',
    violates: 'SSP-OPEN-4: an open without params is refused although {} would be accepted',
    breaks: ['SSP-OPEN-4'],
    create: () => ({
      response: (res, req) => {
        const open = req.message;
        if (open?.type !== 'open' || open.ssp !== 1 || 'params' in open || !String(open.stream).startsWith('ssp.')) return res;
        // Whatever the server made of it (a session, invalid-params), the variant refuses it.
        if (res.message?.type !== 'session' && res.message?.code !== 'invalid-params') return res;
        return jsonResponse(400, { ssp: 1, type: 'error', code: 'bad-request', message: 'params required', retryable: false }, res);
      },
    }),
  },
  {
    name: 'invalid-params-status-400',
    violates: 'SSP-OPEN-6: invalid-params answered with status 400',
    breaks: ['SSP-OPEN-6', 'SSP-ERROR-2', 'SSP-ANNEX-4', 'SSP-ANNEX-21', 'SSP-MESSAGE-12'],
    consequences: 'ERROR-2 (registry status), ANNEX-4 and ANNEX-21 (annex params) and MESSAGE-12 (deeply nested params: invalid-params, 422) restate the 422 of OPEN-6',
    create: () => ({ response: statusForError('invalid-params', 400) }),
  },
  {
    name: 'accepts-truncated-signatures',
    violates: 'SSP-SIGNATURE-4: a proper prefix of an issued signature is served as the signature',
    breaks: ['SSP-SIGNATURE-4'],
    create: ({ issued }) => ({
      request: (req) => {
        const sig = sigOf(req);
        if (sig === undefined || issued.has(sig)) return req;
        const genuine = signaturePattern.test(sig) ? [...issued].find((real) => real.length > sig.length && real.startsWith(sig)) : undefined;
        return genuine ? withMessage(req, { ...req.message, sig: genuine }) : req;
      },
    }),
  },
  {
    name: 'malformed-signature-bad-request',
    violates: 'SSP-SIGNATURE-5: a sig breaking the signature pattern gets 400 bad-request',
    breaks: ['SSP-SIGNATURE-5'],
    create: () => ({
      response: (res, req) => {
        const sig = req.message?.sig;
        if (res.message?.code !== 'invalid-signature' || typeof sig !== 'string' || signaturePattern.test(sig)) return res;
        return { ...edit(res, { code: 'bad-request' }), status: 400 };
      },
    }),
  },
  {
    name: 'accepts-spliced-signatures',
    violates: 'SSP-SIGNATURE-6: a signature spliced from two issued ones is served as the first',
    breaks: ['SSP-SIGNATURE-6'],
    create: ({ issued }) => ({
      request: (req) => {
        const sig = sigOf(req);
        if (sig === undefined || issued.has(sig)) return req;
        const all = [...issued];
        const head = all.find((a) => all.some((b) => b !== a && Math.floor(Math.min(a.length, b.length) / 2) > 0 && sig === a.slice(0, Math.floor(Math.min(a.length, b.length) / 2)) + b.slice(Math.floor(Math.min(a.length, b.length) / 2))));
        return head ? withMessage(req, { ...req.message, sig: head }) : req;
      },
    }),
  },
  {
    name: 'signatures-expire-early',
    violates: 'SSP-SIGNATURE-9: a live session\'s signature is refused as expired after idleTimeoutMs / 2',
    breaks: ['SSP-SIGNATURE-9', 'SSP-LIFETIME-2', 'SSP-LIFETIME-3', 'SSP-HOLD-10'],
    consequences: 'LIFETIME-2 and -3 are observed by polling with the newest signature once it is that old; HOLD-10 polls with the superseded answer\'s signature after the event it leads to, over a second later',
    create: ({ limits }) => {
      const issuedAt = new Map<string, number>();
      const ageAtRequest = new WeakMap<ProxyRequest, number>();
      return {
        request: (req) => {
          const sent = sigOf(req);
          if (sent !== undefined && issuedAt.has(sent)) ageAtRequest.set(req, performance.now() - issuedAt.get(sent)!);
          return req;
        },
        response: (res, req) => {
          const sig = res.message?.sig;
          if (typeof sig === 'string' && !issuedAt.has(sig)) issuedAt.set(sig, performance.now());
          if (!isPoll(req) || !isBatch(res) || (ageAtRequest.get(req) ?? 0) <= limits.idleTimeoutMs / 2) return res;
          return jsonResponse(410, { ssp: 1, type: 'error', code: 'session-expired', message: 'signature expired', retryable: false }, res);
        },
      };
    },
  },
  {
    name: 'wrong-last',
    violates: 'SSP-TERMINATION-18: the termination of a stream without events says last 1',
    breaks: ['SSP-TERMINATION-18', 'SSP-ANNEX-3'],
    consequences: 'ANNEX-3 observes the ssp.fail default after 0 through last',
    create: () => ({ response: (res) => (res.message?.type === 'termination' && res.message.last === 0 && reason(res) === 'error' ? edit(res, { last: 1 }) : res) }),
  },
  {
    name: 'complete-advises-reopen',
    violates: 'SSP-TERMINATION-5: a finished stream advises reopen',
    breaks: ['SSP-TERMINATION-5', 'SSP-ANNEX-9', 'SSP-ANNEX-14'],
    consequences: 'ANNEX-9 and -14 restate TERMINATION-5 for ssp.counter and ssp.burst',
    create: () => ({ response: (res) => (reason(res) === 'complete' ? withAdvice(res, 'reopen') : res) }),
  },
  {
    name: 'closed-advises-reopen',
    violates: 'SSP-TERMINATION-6: a closed session advises reopen',
    breaks: ['SSP-TERMINATION-6', 'SSP-CLOSE-1'],
    consequences: 'CLOSE-1 restates TERMINATION-6 for the answer to close',
    create: () => ({ response: (res) => (reason(res) === 'closed' ? withAdvice(res, 'reopen') : res) }),
  },
  {
    name: 'error-advises-resume',
    violates: 'SSP-TERMINATION-8: a failed stream advises resume',
    breaks: ['SSP-TERMINATION-8', 'SSP-ANNEX-16'],
    consequences: 'ANNEX-16 restates the advice for ssp.fail',
    create: () => ({ response: (res) => (reason(res) === 'error' ? withAdvice(res, 'resume') : res) }),
  },
  {
    name: 'close-ignores-termination',
    violates: 'SSP-CLOSE-4: close of a terminated session answers a new closed termination',
    breaks: ['SSP-CLOSE-4', 'SSP-TERMINATION-13'],
    consequences: 'TERMINATION-13 requires the identical termination for every later close too',
    create: () => ({
      response: (res, req) =>
        req.message?.type === 'close' && (reason(res) === 'complete' || reason(res) === 'error')
          ? edit(res, { reason: 'closed', advice: { action: 'none' }, error: undefined })
          : res,
    }),
  },
  {
    name: 'close-needs-newest-signature',
    violates: 'SSP-CLOSE-5: close with an older signature of a live session is refused',
    breaks: ['SSP-CLOSE-5', 'SSP-TERMINATION-18'],
    consequences: 'TERMINATION-18 closes a burst with its session signature, to leave events unacknowledged, and that close is refused',
    create: ({ sessionOf }) => {
      const newest = new Map<number, string>();
      return {
        response: (res, req) => {
          const sent = sigOf(req);
          const session = sent === undefined ? undefined : sessionOf(sent);
          const fresh = res.message?.sig;
          if (req.message?.type === 'close' && reason(res) === 'closed' && session !== undefined && newest.has(session) && newest.get(session) !== sent) {
            return jsonResponse(403, { ssp: 1, type: 'error', code: 'invalid-signature', message: 'not the newest signature', retryable: false }, res);
          }
          if (session !== undefined && typeof fresh === 'string' && isBatch(res)) newest.set(session, fresh);
          return res;
        },
      };
    },
  },
];
