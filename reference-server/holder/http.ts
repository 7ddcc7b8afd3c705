// HTTP details shared by every endpoint response: headers (spec §4), media types
// and bounded body reading.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { SspError } from '../errors.ts';
import type { TimerHandle, TimerTarget, TimerWheel } from './timer-wheel.ts';

/** A request as node:http or node:http2's compatibility API delivers it (HTTP/1.1 or HTTP/2). */
export type SspRequest = IncomingMessage | Http2ServerRequest;
export type SspResponse = ServerResponse | Http2ServerResponse;

/** HTTP/2 responses: connection-specific headers are illegal there (RFC 9113 §8.2.2). */
export function isHttp2(res: SspResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

export const ALLOWED_METHODS = 'GET, HEAD, POST, OPTIONS';
const JSON_TYPE = 'application/json; charset=utf-8';
const PREFLIGHT_MAX_AGE_S = '600';

/** Every response: no-store (§1); CORS for the request's origin (§1.1: echoed, never `*`). */
function baseHeaders(origin: string | undefined): OutgoingHttpHeaders {
  // ACAO depends on the request origin, so every response varies by it (cached or not).
  const headers: OutgoingHttpHeaders = { 'cache-control': 'no-store', vary: 'Origin' };
  if (origin !== undefined) {
    headers['access-control-allow-origin'] = origin;
    headers['access-control-allow-credentials'] = 'true';
    headers['access-control-expose-headers'] = 'Retry-After';
  }
  return headers;
}

export function sendJson(res: SspResponse, origin: string | undefined, status: number, body: string, extra?: OutgoingHttpHeaders): void {
  // A connection cut below us (framing error, peer reset) takes no answer.
  // (An HTTP/2 stream of a HEAD request is not writable, yet takes its header fields.)
  if (res.headersSent || res.destroyed || (!isHttp2(res) && res.socket?.writable === false)) return;
  // HTTP/2 (compatibility API) takes the header object below.
  if (extra === undefined && !isHttp2(res)) {
    // The common answer (every batch): a flat header list, no object to build per response.
    const length = String(Buffer.byteLength(body));
    const headers =
      origin === undefined
        ? ['cache-control', 'no-store', 'vary', 'Origin', 'content-type', JSON_TYPE, 'content-length', length]
        : ['cache-control', 'no-store', 'vary', 'Origin', 'access-control-allow-origin', origin, 'access-control-allow-credentials', 'true',
           'access-control-expose-headers', 'Retry-After', 'content-type', JSON_TYPE, 'content-length', length];
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  const headers = baseHeaders(origin);
  headers['content-type'] = JSON_TYPE;
  headers['content-length'] = Buffer.byteLength(body);
  if (extra) Object.assign(headers, extra);
  // `Connection: close` (an unread body, shutdown) has no HTTP/2 form: the stream ends alone,
  // the connection carries on, and shutdown uses GOAWAY (createServer's close).
  if (isHttp2(res)) delete headers.connection;
  writeHead(res, status, headers);
  // node:http drops a HEAD answer's body itself; node:http2 must not be given one.
  if (isHttp2(res) && res.req.method === 'HEAD') res.end();
  else res.end(body);
}

/** writeHead on either API (their overloads do not unify). */
export function writeHead(res: SspResponse, status: number, headers: OutgoingHttpHeaders): void {
  (res as ServerResponse).writeHead(status, headers);
}

export function sendError(res: SspResponse, origin: string | undefined, error: SspError, extra: OutgoingHttpHeaders = {}): void {
  const { retryAfterMs } = error.extras;
  // §2: retryAfterMs comes with Retry-After in seconds, rounded up.
  if (retryAfterMs !== undefined) extra['retry-after'] = String(Math.ceil(retryAfterMs / 1000));
  sendJson(res, origin, error.status, JSON.stringify(error.toMessage()), extra);
}

/** §1.1: preflight → 204 with the methods and headers a client may use (CORS headers only for an allowed origin). */
export function sendPreflight(req: SspRequest, res: SspResponse, origin: string | undefined): void {
  const headers = baseHeaders(origin);
  headers.allow = ALLOWED_METHODS;
  headers['access-control-allow-methods'] = ALLOWED_METHODS;
  const requested = req.headers['access-control-request-headers'];
  headers['access-control-allow-headers'] = requested ? `content-type, ${requested}` : 'content-type';
  headers['access-control-max-age'] = PREFLIGHT_MAX_AGE_S;
  writeHead(res, 204, headers);
  res.end();
}

// RFC 9110 §8.3.1: media-type = type "/" subtype *( OWS ";" OWS [ parameter ] ),
// parameter = token "=" ( token / quoted-string ).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5B\\x5D-\\x7E\\x80-\\xFF]|\\\\[\\t \\x21-\\x7E\\x80-\\xFF])*"';
const MEDIA_TYPE = new RegExp(`^(${TOKEN}/${TOKEN})((?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*)$`);
const PARAMETER = new RegExp(`[ \\t]*;[ \\t]*(?:(${TOKEN})=(${TOKEN}|${QUOTED}))?`, 'gy');

/** A token or quoted-string parameter value, unquoted (quoted-pair escapes removed). */
function parameterValue(raw: string): string {
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
}

/** Content-Type values that are acceptable as they stand (exact text, one field line). */
const COMMON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'text/plain', 'text/plain;charset=utf-8', 'text/plain;charset=UTF-8']);

/**
 * Content-Type field lines of the request, counted in its raw header list (node:http keeps
 * only the first in `headers`); without building `headersDistinct`, which copies every field.
 * node:http2 merges none of them away: 1 when present there.
 */
function contentTypeFields(req: SspRequest): number {
  if (!('headersDistinct' in req)) return 1;
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 12 && raw[i].toLowerCase() === 'content-type') count++;
  return count;
}

/**
 * §4.2: application/json or text/plain, with an optional charset that must be utf-8
 * (SSP-TRANSPORT-3/4/11), one field line matching RFC 9110's grammar, charset at most once
 * (SSP-TRANSPORT-16).
 */
export function checkMediaType(req: SspRequest): void {
  const single = req.headers['content-type'];
  // The values the reference clients send, in one field line, need no parsing.
  if (single !== undefined && COMMON_TYPES.has(single) && contentTypeFields(req) === 1) return;
  // node:http2's compatibility API has no headersDistinct: one content-type field there.
  const fields = 'headersDistinct' in req ? (req.headersDistinct['content-type'] ?? []) : single === undefined ? [] : [single];
  if (fields.length === 0 || fields[0].trim() === '') {
    throw new SspError('unsupported-media-type', 'request has no Content-Type; send application/json or text/plain');
  }
  if (fields.length > 1) throw new SspError('unsupported-media-type', 'request has more than one Content-Type field; send exactly one');
  const contentType = fields[0].trim();
  const match = MEDIA_TYPE.exec(contentType);
  if (!match) throw new SspError('unsupported-media-type', `Content-Type '${contentType}' is not one media type in RFC 9110 §8.3.1 syntax`);
  const mediaType = match[1].toLowerCase();
  if (mediaType !== 'application/json' && mediaType !== 'text/plain') {
    throw new SspError('unsupported-media-type', `Content-Type '${mediaType}' is not accepted; send application/json or text/plain`);
  }
  let charsets = 0;
  for (const [, name, value] of match[2].matchAll(PARAMETER)) {
    if (name === undefined || value === undefined || name.toLowerCase() !== 'charset') continue;
    if (++charsets > 1) throw new SspError('unsupported-media-type', 'Content-Type names charset more than once');
    const charset = parameterValue(value).toLowerCase();
    if (charset !== 'utf-8') throw new SspError('unsupported-media-type', `charset '${charset}' is not accepted; the body must be utf-8`);
  }
}

// ignoreBOM keeps a byte order mark in the text, so that the syntax step refuses it (SSP-MESSAGE-9).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Who gets a body once it is read: its text, or the error that ended the reading. */
export interface BodyTarget {
  body(text: string): void;
  bodyFailed(error: SspError): void;
}

/** A body being read; its timer's target, reached from its request's listeners. */
class BodyReader implements TimerTarget {
  readonly chunks: Buffer[] = [];
  size = 0;
  timer: TimerHandle | undefined;

  constructor(
    readonly req: SspRequest,
    readonly maxBytes: number,
    readonly timeoutMs: number,
    readonly wheel: TimerWheel,
    readonly target: BodyTarget,
  ) {}

  data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) this.finish(tooLarge(this.maxBytes));
    else this.chunks.push(chunk);
  }

  onTimer(): void {
    this.finish(new SspError('request-timeout', `request body was not received within ${this.timeoutMs} ms`));
  }

  finish(error?: SspError): void {
    const { req, chunks } = this;
    (req as ReadingRequest)[READER] = undefined;
    req.off('data', onBodyData).off('end', onBodyEnd).off('error', onBodyAbort).off('close', onBodyAbort);
    this.wheel.cancel(this.timer);
    if (error) {
      chunks.length = 0;
      req.resume();
      return this.target.bodyFailed(error);
    }
    let text: string;
    try {
      // Most bodies arrive in one chunk: decode it without a copy.
      text = utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size));
    } catch {
      return this.target.bodyFailed(new SspError('bad-request', 'request body is not valid UTF-8'));
    }
    this.target.body(text);
  }
}

const READER = Symbol('xanjax.bodyReader');
type ReadingRequest = SspRequest & { [READER]?: BodyReader | undefined };

// One listener function of each kind for every request (no closures per request).
function onBodyData(this: ReadingRequest, chunk: Buffer): void {
  this[READER]?.data(chunk);
}
function onBodyEnd(this: ReadingRequest): void {
  this[READER]?.finish();
}
function onBodyAbort(this: ReadingRequest): void {
  this[READER]?.finish(new SspError('bad-request', 'request body ended before it was complete'));
}

const tooLarge = (maxBytes: number) => new SspError('payload-too-large', `request body is larger than limits.maxBodyBytes (${maxBytes} bytes)`);

/**
 * Reads the body as UTF-8 text for `target`, at most maxBytes (§1: stop at the limit, never
 * buffer the rest) and within timeoutMs, so a slow or stalled client cannot hold a request
 * forever. On failure the rest of the body is discarded unread; answer with `Connection: close`.
 * No promise: the poll that nearly every request carries is answered from the body's `end`.
 */
export function readBody(req: SspRequest, maxBytes: number, timeoutMs: number, wheel: TimerWheel, target: BodyTarget): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return target.bodyFailed(tooLarge(maxBytes));
  const reader = new BodyReader(req, maxBytes, timeoutMs, wheel, target);
  (req as ReadingRequest)[READER] = reader;
  req.on('data', onBodyData).on('end', onBodyEnd).on('error', onBodyAbort).on('close', onBodyAbort);
  // Nearly every body arrives with its headers, in the chunk the parser is reading now: the
  // timer is set only for a body still incomplete once that chunk is parsed.
  process.nextTick(startBodyTimer, reader);
}

function startBodyTimer(reader: BodyReader): void {
  const { req } = reader;
  if ((req as ReadingRequest)[READER] !== reader || req.complete) return;
  reader.timer = reader.wheel.schedule(Date.now() + reader.timeoutMs, reader);
}

/**
 * Reads and discards a body the answer does not need (405, 415 before reading), so that the
 * connection stays usable and nothing unread makes its close a reset. Resolves true once the
 * whole body is gone; false (the caller then closes the connection, lingering) when it is
 * larger than maxBytes or not received within timeoutMs.
 */
export function discardBody(req: IncomingMessage, maxBytes: number, timeoutMs: number, wheel: TimerWheel): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let size = 0;
    const finish = (drained: boolean) => {
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      wheel.cancel(timer);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const timer = wheel.schedule(Date.now() + timeoutMs, { onTimer: () => finish(false) });
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onFail);
  });
}
