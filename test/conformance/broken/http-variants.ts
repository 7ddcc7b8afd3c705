// Broken variants of the HTTP surface: transport, CORS, discovery, message validation, errors.
import { jsonResponse, withMessage, type ProxyRequest, type ProxyResponse, type Variant } from './proxy.ts';
import { edit, headers, laterDiscovery, statusForError, type Message } from './rewrite.ts';

const refusedType = (req: ProxyRequest): ProxyRequest => ({ ...req, headers: { ...req.headers, 'content-type': 'application/xml' } });
const error = (res: ProxyResponse, code: string) => res.message?.type === 'error' && res.message.code === code;

export const httpVariants: Variant[] = [
  {
    name: 'rejects-text-plain',
    violates: 'SSP-TRANSPORT-2: a POST as text/plain is refused with 415',
    breaks: ['SSP-TRANSPORT-2', 'SSP-TRANSPORT-3'],
    consequences: 'TRANSPORT-3 covers text/plain with charset=utf-8, refused the same way',
    // Forwarded as a media type the server refuses, so the 415 is the server's own.
    create: () => ({ request: (req) => (req.method === 'POST' && /^text\/plain/i.test(req.headers['content-type'] ?? '') ? refusedType(req) : req) }),
  },
  {
    name: 'rejects-charset',
    violates: 'SSP-TRANSPORT-3: a charset=utf-8 parameter is refused with 415',
    breaks: ['SSP-TRANSPORT-3'],
    create: () => ({ request: (req) => (req.method === 'POST' && /charset="?utf-8/i.test(req.headers['content-type'] ?? '') ? refusedType(req) : req) }),
  },
  {
    name: 'rejects-unknown-media-parameters',
    violates: 'SSP-TRANSPORT-11: a media type parameter other than charset is refused with 415',
    breaks: ['SSP-TRANSPORT-11'],
    create: () => ({
      request: (req) => {
        const parameters = (req.headers['content-type'] ?? '').split(';').slice(1).map((p) => p.split('=')[0]!.trim().toLowerCase());
        return req.method === 'POST' && parameters.some((name) => name !== 'charset') ? refusedType(req) : req;
      },
    }),
  },
  {
    name: 'short-termination-memory',
    violates: 'SSP-TERMINATION-15: discovery advertises terminationMemoryMs below idleTimeoutMs + maxHoldMs',
    breaks: ['SSP-TERMINATION-15'],
    create: ({ limits }) => ({
      response: (res, req) => {
        if (req.method !== 'GET' || res.message?.type !== 'discovery') return res;
        const advertised = res.message.limits as Record<string, number>;
        return { ...res, message: { ...res.message, limits: { ...advertised, terminationMemoryMs: limits.idleTimeoutMs + limits.maxHoldMs - 500 } } };
      },
    }),
  },
  {
    name: 'oversize-status-400',
    violates: 'SSP-TRANSPORT-8: payload-too-large answered with status 400',
    breaks: ['SSP-TRANSPORT-8', 'SSP-TRANSPORT-9', 'SSP-ERROR-2'],
    consequences: 'TRANSPORT-9 is about sending that same 413 early; ERROR-2 is the registry-status rule TRANSPORT-8 instantiates',
    create: () => ({ response: statusForError('payload-too-large', 400) }),
  },
  {
    name: 'allows-another-origin',
    violates: 'SSP-CORS-3: Access-Control-Allow-Origin names an origin other than the request\'s',
    breaks: ['SSP-CORS-3', 'SSP-CORS-4'],
    consequences: 'the reference server also allows credentials, which CORS-4 ties to the exact origin',
    create: () => ({ response: headers({ 'access-control-allow-origin': 'https://elsewhere.invalid' }) }),
  },
  {
    name: 'no-cors-on-errors',
    violates: 'SSP-CORS-6: error responses lack the CORS headers successful ones carry',
    breaks: ['SSP-CORS-6'],
    create: () => ({
      response: (res) =>
        res.status >= 400
          ? headers({ 'access-control-allow-origin': null, 'access-control-allow-credentials': null, 'access-control-expose-headers': null, vary: null })(res)
          : res,
    }),
  },
  {
    name: 'options-200',
    violates: 'SSP-CORS-8: OPTIONS answered with 200 and a body',
    breaks: ['SSP-CORS-8', 'SSP-TRANSPORT-6'],
    consequences: 'the body it adds is text/plain, and TRANSPORT-6 (checked on every response) wants every body JSON',
    create: () => ({
      response: (res, req) => (req.method === 'OPTIONS' ? { ...res, status: 200, body: Buffer.from('OK'), headers: { ...res.headers, 'content-type': 'text/plain' } } : res),
    }),
  },
  {
    name: 'preflight-without-headers',
    violates: 'SSP-CORS-10: preflight answer without Access-Control-Allow-Headers',
    breaks: ['SSP-CORS-10', 'SSP-CORS-12'],
    consequences: 'without Access-Control-Allow-Headers no requested header is allowed either (CORS-12, a SHOULD)',
    create: () => ({ response: headers({ 'access-control-allow-headers': null }) }),
  },
  {
    name: 'discovery-without-version-1',
    violates: 'SSP-DISCOVERY-3: versions lists 2 only',
    breaks: ['SSP-DISCOVERY-3'],
    create: laterDiscovery((document) => ({ ...document, versions: [2] })),
  },
  {
    name: 'discovery-unlisted-stream',
    violates: 'SSP-DISCOVERY-6: ssp.burst opens but is not listed',
    breaks: ['SSP-DISCOVERY-6', 'SSP-ANNEX-2'],
    consequences: 'with ssp.burst unlisted, conformance: true no longer matches the listed streams (ANNEX-2)',
    create: laterDiscovery((document) => ({ ...document, streams: (document.streams as Message[]).filter((stream) => stream.name !== 'ssp.burst') })),
  },
  {
    name: 'discovery-params-schema-too-loose',
    violates: 'SSP-DISCOVERY-7: the ssp.counter params schema accepts counts the server rejects',
    breaks: ['SSP-DISCOVERY-7'],
    create: laterDiscovery((document) => ({
      ...document,
      streams: (document.streams as Message[]).map((stream) =>
        stream.name === 'ssp.counter' ? { ...stream, params: { type: 'object', properties: { count: { type: 'integer' } }, additionalProperties: true } } : stream,
      ),
    })),
  },
  {
    name: 'error-body-of-version-2',
    violates: 'SSP-MESSAGE-1: the error for an invalid JSON body says "ssp": 2',
    breaks: ['SSP-MESSAGE-1', 'SSP-MESSAGE-2'],
    consequences: '"ssp": 1 is part of every message schema, so the body is also schema-invalid (MESSAGE-2)',
    create: () => ({ response: (res, req) => (req.body.toString() === '{' && error(res, 'bad-request') ? edit(res, { ssp: 2 }) : res) }),
  },
  {
    name: 'repairs-invalid-utf8',
    violates: 'SSP-MESSAGE-3: a body that is not UTF-8 is repaired and processed',
    breaks: ['SSP-MESSAGE-3'],
    create: () => ({
      request: (req) => {
        // 0xFF never occurs in UTF-8: replace it with '.' and go on.
        if (req.method !== 'POST' || !req.body.includes(0xff)) return req;
        const repaired = Buffer.from(req.body.map((byte) => (byte === 0xff ? 0x2e : byte)));
        return { ...req, body: repaired };
      },
    }),
  },
  {
    name: 'unwraps-arrays',
    violates: 'SSP-MESSAGE-4: a JSON array body is processed as its first element',
    breaks: ['SSP-MESSAGE-4'],
    create: () => ({
      request: (req) => {
        if (req.method !== 'POST' || !req.body.toString().startsWith('[{')) return req;
        const [first] = JSON.parse(req.body.toString()) as Message[];
        return withMessage(req, first!);
      },
    }),
  },
  {
    name: 'version-error-status-422',
    violates: 'SSP-MESSAGE-5: unsupported-version answered with status 422',
    breaks: ['SSP-MESSAGE-5', 'SSP-ERROR-2'],
    consequences: 'ERROR-2 is the registry-status rule MESSAGE-5 instantiates',
    create: () => ({ response: statusForError('unsupported-version', 422) }),
  },
  {
    name: 'shape-before-version',
    violates: 'SSP-MESSAGE-6: a message of another version with an unknown type gets bad-request',
    breaks: ['SSP-MESSAGE-6'],
    create: () => ({
      request: (req) =>
        req.message && req.message.ssp !== 1 && !['open', 'poll', 'close'].includes(String(req.message.type))
          ? jsonResponse(400, { ssp: 1, type: 'error', code: 'bad-request', message: 'unknown type', retryable: false })
          : req,
    }),
  },
  {
    name: 'clamps-negative-hold',
    violates: 'SSP-MESSAGE-7: a poll with a negative hold is served with hold 0',
    breaks: ['SSP-MESSAGE-7'],
    create: () => ({
      request: (req) => (req.message?.type === 'poll' && typeof req.message.hold === 'number' && req.message.hold < 0 ? withMessage(req, { ...req.message, hold: 0 }) : req),
    }),
  },
  {
    name: 'error-changes-session',
    violates: 'SSP-ERROR-5: a poll of version 2 closes the session it names before being refused',
    breaks: ['SSP-ERROR-5'],
    create: ({ forward }) => ({
      request: async (req) => {
        if (req.message?.ssp !== 2 || req.message.type !== 'poll' || typeof req.message.sig !== 'string') return req;
        await forward(withMessage(req, { ssp: 1, type: 'close', sig: req.message.sig }));
        return req;
      },
    }),
  },
  {
    name: 'discovery-status-203',
    violates: 'SSP-DISCOVERY-1: GET is answered with status 203',
    breaks: ['SSP-DISCOVERY-1', 'SSP-TRANSPORT-10', 'SSP-TRANSPORT-13', 'SSP-TRANSPORT-15'],
    consequences: 'TRANSPORT-10 requires 200 for every discovery answer as well; TRANSPORT-13 reads a discovery answer (with a query) and TRANSPORT-15 compares HEAD with a GET answered 203',
    // The runner's own first fetch stays 200 so that the run can start at all.
    create: () => {
      let gets = 0;
      return { response: (res, req) => (req.method === 'GET' && gets++ > 0 ? { ...res, status: 203 } : res) };
    },
  },
  {
    name: 'method-not-allowed-without-body',
    violates: 'SSP-ERROR-10: the 405 answer has no error message',
    breaks: ['SSP-ERROR-10', 'SSP-TRANSPORT-14', 'SSP-ERROR-2', 'SSP-ERROR-3', 'SSP-MESSAGE-8'],
    consequences: 'without the error message, no check can read the method-not-allowed code (TRANSPORT-14), its registry status and retryable (ERROR-2, ERROR-3) or which step answered (MESSAGE-8, a SHOULD)',
    create: () => ({ response: (res) => (res.status === 405 ? { ...res, body: Buffer.alloc(0), message: undefined } : res) }),
  },
  {
    name: 'framing-errors-plain',
    violates: 'SSP-ERROR-11 (SHOULD): requests the HTTP parser rejects get Node\'s default plain 400, without the JSON error or no-store',
    breaks: ['SSP-ERROR-11'],
    plainFramingErrors: true,
    create: () => ({}),
  },
];
