// Broken variants for issue 8's edges: query strings, HEAD, Content-Type grammar, I-JSON,
// integer forms, extensions, answers after termination and the ssp. reservation.
import { jsonResponse, withMessage, type ProxyRequest, type ProxyResponse, type Variant } from './proxy.ts';
import { laterDiscovery, sigOf } from './rewrite.ts';

const isPost = (req: ProxyRequest) => req.method === 'POST';
const badRequest = (message: string) => jsonResponse(400, { ssp: 1, type: 'error', code: 'bad-request', message, retryable: false });

/** Nesting depth of a JSON text (strings skipped). */
function depthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    } else if (char === '{' || char === '[') deepest = Math.max(deepest, ++depth);
    else if (char === '}' || char === ']') depth--;
  }
  return deepest;
}

/** A request with `text` as its body (parsed again). */
function withBody(req: ProxyRequest, text: string): ProxyRequest {
  let message: Record<string, unknown> | undefined;
  try {
    message = JSON.parse(text) as Record<string, unknown>;
  } catch {
    message = undefined;
  }
  return { ...req, body: Buffer.from(text), message };
}

export const edgeVariants: Variant[] = [
  {
    name: 'routes-query-strings',
    violates: 'SSP-TRANSPORT-13: a request whose target has a query string is not routed to the endpoint (404)',
    breaks: ['SSP-TRANSPORT-13'],
    create: () => ({
      request: (req) =>
        req.target.includes('?') ? { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: Buffer.from('not found\n') } : req,
    }),
  },
  {
    name: 'head-not-allowed',
    violates: 'SSP-TRANSPORT-15: HEAD is answered with 405, as the draft required',
    breaks: ['SSP-TRANSPORT-15'],
    create: () => ({
      request: (req) =>
        req.method === 'HEAD'
          ? { ...jsonResponse(405, { ssp: 1, type: 'error', code: 'method-not-allowed', message: 'HEAD', retryable: false }), headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', allow: 'GET, POST, OPTIONS' } }
          : req,
    }),
  },
  {
    name: 'lenient-content-type',
    violates: 'SSP-TRANSPORT-16: a Content-Type with charset twice, a parameter without a value, spaces around =, two media types or an open quote is accepted',
    breaks: ['SSP-TRANSPORT-16'],
    create: () => ({
      request: (req) => {
        const type = req.headers['content-type'] ?? '';
        const sloppy = /charset.*charset|;\s*charset\s*$|\s=|=\s|,|="[^"]*$/i.test(type);
        return isPost(req) && sloppy ? { ...req, headers: { ...req.headers, 'content-type': 'application/json' } } : req;
      },
    }),
  },
  {
    name: 'lenient-json',
    violates: 'SSP-MESSAGE-9: a byte order mark is skipped, the last of duplicate members wins, an unpaired surrogate is accepted',
    breaks: ['SSP-MESSAGE-9'],
    create: ({ limits }) => ({
      request: (req) => {
        // Bodies over the limit are left alone: re-serialized they would shrink below it.
        if (!isPost(req) || req.body.length > limits.maxBodyBytes) return req;
        let text = req.body.toString('utf8');
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        text = text.replace(/\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])/g, '\\ufffd');
        try {
          return withBody(req, JSON.stringify(JSON.parse(text)));
        } catch {
          return req;
        }
      },
    }),
  },
  {
    name: 'rejects-integral-floats',
    violates: 'SSP-MESSAGE-10: "ssp": 1.0 and other integers written with a fraction or exponent are bad requests',
    breaks: ['SSP-MESSAGE-10'],
    create: () => ({
      // Only integral values (1.0, 1e0): 1.5 is no integer at all, a matter for params validation.
      request: (req) => (isPost(req) && [...req.body.toString('utf8').matchAll(/:\s*(-?\d+(?:\.\d+|[eE][+-]?\d+)+)/g)].some((match) => Number.isInteger(Number(match[1]))) ? badRequest('integers must be written plainly') : req),
    }),
  },
  {
    name: 'rounds-huge-integers',
    violates: 'SSP-MESSAGE-11: an integer beyond 2^53 - 1 is rounded into range instead of refused',
    breaks: ['SSP-MESSAGE-11'],
    create: () => ({
      request: (req) => (isPost(req) ? withBody(req, req.body.toString('utf8').replace(/\b\d{16,}\b|\b1e300\b/g, '9007199254740991')) : req),
    }),
  },
  {
    name: 'shallow-nesting',
    violates: 'SSP-MESSAGE-12: messages nested more than 16 levels deep are bad requests',
    breaks: ['SSP-MESSAGE-12'],
    create: () => ({ request: (req) => (isPost(req) && depthOf(req.body.toString('utf8')) > 16 ? badRequest('nested too deep') : req) }),
  },
  {
    name: 'decimal-position',
    violates: 'SSP-MESSAGE-14: the session message writes its position as 0.0',
    breaks: ['SSP-MESSAGE-14'],
    create: () => ({
      response: (res) =>
        res.message?.type === 'session' ? { ...res, message: undefined, body: Buffer.from(res.body.toString('utf8').replace('"position":0', '"position":0.0')) } : res,
    }),
  },
  {
    name: 'rejects-ext',
    violates: 'SSP-EXT-1: a message carrying an ext member the server does not understand is a bad request',
    breaks: ['SSP-EXT-1'],
    // `multiplex` is the one ext member the server understands (it offers the extension). The
    // server itself answers the bad-request (ext made a string), with its own CORS headers.
    create: () => ({
      request: (req) => (isPost(req) && Object.keys((req.message?.ext ?? {}) as object).some((name) => name !== 'multiplex') ? withMessage(req, { ...req.message, ext: 'not understood' }) : req),
    }),
  },
  {
    name: 'no-session-extensions',
    violates: 'SSP-EXT-2: the session answer leaves out extensions although the open asked for some',
    breaks: ['SSP-EXT-2', 'SSP-MUX-2', 'SSP-MUX-3', 'SSP-MUX-4', 'SSP-MUX-5', 'SSP-MUX-6', 'SSP-MUX-7', 'SSP-MUX-8', 'SSP-MUX-9', 'SSP-MUX-10', 'SSP-MUX-11', 'SSP-MUX-12', 'SSP-MUX-13'],
    consequences: 'a session answer without its extensions list never confirms the multiplex extension the open asked for, so every multiplexed-session check (MUX-2 to -13) finds the session not multiplexed',
    create: () => ({
      response: (res: ProxyResponse) => {
        if (res.message?.type !== 'session' || !('extensions' in res.message)) return res;
        const { extensions: _dropped, ...rest } = res.message;
        return { ...res, message: rest };
      },
    }),
  },
  {
    name: 'batch-after-complete',
    violates: 'SSP-TERMINATION-19: after a complete termination, the session message\'s signature gets an empty batch',
    breaks: ['SSP-TERMINATION-19', 'SSP-TERMINATION-13'],
    consequences: 'the batch replaces the repeated termination that TERMINATION-13 checks with the same signature',
    create: ({ sessionOf }) => {
      const completed = new Set<number>();
      const opening = new Set<string>();
      return {
        request: (req) => {
          const sig = sigOf(req);
          const session = sig === undefined ? undefined : sessionOf(sig);
          if (req.message?.type === 'poll' && sig !== undefined && opening.has(sig) && session !== undefined && completed.has(session)) {
            return jsonResponse(200, { ssp: 1, type: 'batch', sig, events: [] });
          }
          return req;
        },
        response: (res, req) => {
          if (res.message?.type === 'session' && typeof res.message.sig === 'string') opening.add(res.message.sig);
          const sig = sigOf(req);
          const session = sig === undefined ? undefined : sessionOf(sig);
          if (res.message?.type === 'termination' && res.message.reason === 'complete' && session !== undefined) completed.add(session);
          return res;
        },
      };
    },
  },
  {
    name: 'extra-ssp-stream',
    violates: 'SSP-ANNEX-19: discovery offers a stream ssp.extra beside the annex streams',
    breaks: ['SSP-ANNEX-19'],
    create: laterDiscovery((document) => ({ ...document, streams: [...(document.streams as unknown[]), { name: 'ssp.extra', resumable: false, params: { type: 'object' } }] })),
  },
];

