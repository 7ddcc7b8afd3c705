// The SSP/1 endpoint: GET and HEAD → discovery, OPTIONS → preflight, POST → one client
// message (spec §4, §6). Every failure becomes the spec's typed error; nothing throws out.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Authorize } from '../authorize.ts';
import { decide, denialError } from '../authorize.ts';
import type { Validator } from '../../schemas/index.ts';
import type { ClientMessage } from '../../schemas/types.gen.ts';
import type { ClientKey } from '../client-key.ts';
import { SspError } from '../errors.ts';
import { lingerAfterResponse } from './framing.ts';
import { ALLOWED_METHODS, checkMediaType, discardBody, isHttp2, readBody, sendError, sendJson, sendPreflight } from './http.ts';
import type { BodyTarget, SspRequest, SspResponse } from './http.ts';
import { isPromise } from '../event-log/types.ts';
import type { MuxHolder } from '../multiplex/holder.ts';
import { isMuxSignature } from '../multiplex/signature.ts';
import { EXTENSION as MULTIPLEX, readExt } from '../multiplex/wire.ts';
import type { SessionHolder } from './sessions.ts';
import { capRetryAfter } from './session-wait.ts';
import { parseStrictJson } from './strict-json.ts';
import type { TimerWheel } from './timer-wheel.ts';

export interface EndpointOptions {
  holder: SessionHolder;
  /** Multiplexed sessions (spec §23), when the server offers the extension. */
  mux?: MuxHolder;
  validator: Validator;
  discoveryBody: string;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  wheel: TimerWheel;
  clientKey: ClientKey;
  /** §4.5: checks open, poll and close; absent means no credentials are required. */
  authorize?: Authorize | undefined;
  /** Longest wait an answer to a poll or close may ask for (SSP-LIFETIME-7, ./session-wait.ts). */
  sessionWaitMs: number;
  /** SSP-CORS-1: whether the pages of an origin may use the endpoint; absent means every origin. */
  allowOrigin?: ((origin: string) => boolean) | undefined;
}

/**
 * Largest unneeded body read and discarded before a 405 or 415 so the connection stays
 * open; a larger one gets `Connection: close` and a lingering close instead.
 */
const DISCARD_MAX_BYTES = 65_536;

export type Endpoint = (req: SspRequest, res: SspResponse) => void;

export function createEndpoint(options: EndpointOptions): Endpoint {
  const { holder, mux, validator, discoveryBody, maxBodyBytes, bodyTimeoutMs, wheel, clientKey, authorize, sessionWaitMs, allowOrigin } = options;

  /** One POST whose body is being read: it gets the body, then answers the message in it. */
  class Exchange implements BodyTarget {
    constructor(
      readonly req: SspRequest,
      readonly res: SspResponse,
      readonly origin: string | undefined,
    ) {}

    /**
     * A poll of a plain session (nearly every request) is answered here, without a promise
     * when the log answers synchronously; any other message takes `answer`.
     */
    body(text: string): void {
      const { req, res, origin } = this;
      let message: ClientMessage | undefined;
      try {
        // `ext` members are ignored (SSP-EXT-1), except ext.multiplex where §23 applies.
        message = parse(text, validator);
        if (message.type === 'poll' && !authorize && !(mux && isMuxSignature(message.sig))) {
          const polled = holder.poll(message.sig, message.hold, req, res, origin);
          if (isPromise(polled)) polled.catch((error: unknown) => fail(req, res, origin, error, undefined, 'poll'));
          return;
        }
      } catch (thrown) {
        return void fail(req, res, origin, thrown, undefined, message?.type);
      }
      void answer(req, res, origin, message);
    }

    bodyFailed(error: SspError): void {
      void fail(this.req, this.res, this.origin, error, undefined, undefined);
    }
  }

  /** Every message but a plain session's poll without credentials. */
  async function answer(req: SspRequest, res: SspResponse, origin: string | undefined, message: ClientMessage): Promise<void> {
    // Header fields of an error answer (made only when one needs them).
    let extra: OutgoingHttpHeaders | undefined;
    try {
      // §6.5: an extension changes a session only when the client asked for it and we offer it
      // (the server offers multiplex only without an authorize hook, see index.ts).
      const { ext, extensions } = message as { ext?: unknown; extensions?: unknown };
      if (mux && message.type === 'open' && Array.isArray(extensions) && extensions.includes(MULTIPLEX)) {
        return sendJson(res, origin, 200, await mux.open(message.stream, message.params ?? {}, readExt('open', ext), clientKey(req)));
      }
      if (mux && message.type !== 'open' && isMuxSignature(message.sig)) {
        if (message.type === 'poll') return await mux.poll(message.sig, message.hold, readExt('poll', ext), res, origin, clientKey(req));
        return sendJson(res, origin, 200, await mux.close(message.sig));
      }
      if (message.type === 'open') {
        const opening = holder.checkOpen(message.stream, message.params ?? {});
        if (authorize) {
          // §6.4 step 13: forbidden after invalid-params, before too-many-sessions.
          const denial = await decide(authorize, req as IncomingMessage, opening.stream.name, opening.params);
          if (denial) {
            const { error, headers } = denialError(denial);
            extra = { ...headers };
            throw error;
          }
        }
        return sendJson(res, origin, 200, await holder.open(opening, clientKey(req), message.extensions));
      }
      if (authorize) {
        // §6.4 step 14: credentials are checked again on poll and close (SSP-AUTH-5/6).
        const found = holder.lookup(message.sig);
        if ('body' in found) return sendJson(res, origin, 200, found.body);
        const denial = await decide(authorize, req as IncomingMessage, found.stream, found.params);
        if (denial?.deny === 'forbidden') return sendJson(res, origin, 200, holder.revoke(message.sig));
        if (denial) {
          const { error, headers } = denialError(denial);
          extra = { ...headers };
          throw error;
        }
      }
      // A poll may re-create a forgotten session (§8.4), which then counts against its client.
      if (message.type === 'poll') return await holder.poll(message.sig, message.hold, req, res, origin);
      return sendJson(res, origin, 200, await holder.close(message.sig));
    } catch (thrown) {
      await fail(req, res, origin, thrown, extra, message.type);
    }
  }

  /** Every failure becomes the spec's typed error; `type` is the message's, once it was read. */
  async function fail(req: SspRequest, res: SspResponse, origin: string | undefined, thrown: unknown, extra: OutgoingHttpHeaders | undefined, type: string | undefined): Promise<void> {
    let error = thrown;
    if (!(error instanceof SspError)) {
      console.error('xanjax: internal error:', error);
      error = new SspError('internal-error', 'unexpected server fault');
    }
    let sspError = error as SspError;
    // SSP-LIFETIME-7: every error answer to a poll or close asks for a wait the session outlives.
    if (type === 'poll' || type === 'close') sspError = capRetryAfter(sspError, sessionWaitMs);
    // HTTP/2: an unread body ends with its stream alone (RST_STREAM); the connection carries on.
    if (!req.complete && !isHttp2(res)) {
      const plain = req as IncomingMessage;
      // The body is not (all) read. A small one is discarded first (405, 415); after a 413
      // or a timeout, or for a large body, the connection closes, lingering, not reset.
      const readable = sspError.code !== 'payload-too-large' && sspError.code !== 'request-timeout';
      if (!(readable && (await discardBody(plain, DISCARD_MAX_BYTES, bodyTimeoutMs, wheel)))) {
        extra = { ...extra, connection: 'close' };
        lingerAfterResponse(plain.socket);
      }
    }
    sendError(res, origin, sspError, extra);
  }

  return function endpoint(req, res) {
    const requestOrigin = req.headers.origin;
    // An origin the server does not allow gets no CORS headers: its pages read no answer.
    const origin = requestOrigin === undefined || allowOrigin === undefined || allowOrigin(requestOrigin) ? requestOrigin : undefined;
    let extra: OutgoingHttpHeaders | undefined;
    try {
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
      if (req.headers.host === undefined && req.httpVersion === '1.1') {
        extra = { connection: 'close' };
        throw new SspError('bad-request', 'HTTP/1.1 request without a Host header');
      }
      // SSP-TRANSPORT-15: HEAD gets GET's status and header fields; Node sends no body for HEAD.
      if (req.method === 'GET' || req.method === 'HEAD') return sendJson(res, origin, 200, discoveryBody);
      if (req.method === 'OPTIONS') return sendPreflight(req, res, origin);
      if (req.method !== 'POST') {
        extra = { allow: ALLOWED_METHODS };
        throw new SspError('method-not-allowed', `method ${req.method} is not allowed; use GET, HEAD, POST or OPTIONS`);
      }
      // §6.4 step 2, SSP-AUTH-8: a browser sends a cross-site POST with text/plain without a
      // preflight, cookies included; from an origin not allowed it is refused unread, so that a
      // page of another site cannot open or close sessions in the name of a signed-in user.
      if (origin !== requestOrigin) throw new SspError('forbidden', `pages of origin ${requestOrigin} may not use this endpoint`);
      checkMediaType(req);
      readBody(req, maxBodyBytes, bodyTimeoutMs, wheel, new Exchange(req, res, origin));
    } catch (thrown) {
      void fail(req, res, origin, thrown, extra, undefined);
    }
  };
}

/**
 * The message nearly every request carries, a poll exactly as the reference clients serialize
 * it: `{"ssp":1,"type":"poll","sig":"…"}`, optionally with `,"hold":n`. Its text alone shows
 * it is an I-JSON object (§6.4 step 5: no duplicate member, nesting 1, a signature of
 * characters that JSON writes without escapes, a hold of at most 15 digits, so a safe
 * integer) and schema-valid (step 7: any string is a `sig`, a hold is an integer >= 0), so it
 * skips the general parse, scan and schema validation and yields the very object they would.
 * Any other text, however equivalent, takes the general path.
 */
const COMMON_POLL = /^\{"ssp":1,"type":"poll","sig":"[A-Za-z0-9_.~-]*"(?:,"hold":(?:0|[1-9][0-9]{0,14}))?\}$/;
const SIG_AT = '{"ssp":1,"type":"poll","sig":"'.length;
const HOLD_AFTER_SIG = '","hold":'.length;

/** Text → a schema-valid client message, or bad-request / unsupported-version (exported for its tests). */
export function parse(text: string, validator: Validator): ClientMessage {
  // Tested, not matched: the parts are where the pattern puts them (no match array per poll).
  if (COMMON_POLL.test(text)) {
    const sigEnd = text.indexOf('"', SIG_AT);
    const sig = text.slice(SIG_AT, sigEnd);
    return sigEnd + 2 === text.length ? { ssp: 1, type: 'poll', sig } : { ssp: 1, type: 'poll', sig, hold: Number(text.slice(sigEnd + HOLD_AFTER_SIG, -1)) };
  }
  const value = parseStrictJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SspError('bad-request', 'request body must be a JSON object (an SSP/1 client message)');
  }
  const { ssp } = value as { ssp?: unknown };
  // §6.4 step 6, before the shape: a later version's message still learns our versions.
  if (Number.isInteger(ssp) && ssp !== 1) {
    throw new SspError('unsupported-version', `SSP version ${JSON.stringify(ssp)} is not supported`, { versions: [1] });
  }
  const result = validator.validateClientMessage(value);
  // Any string `sig` is well-formed here: the signer answers a malformed one with
  // invalid-signature (§6.4 step 9, SSP-SIGNATURE-5).
  if (result.ok) return value as ClientMessage;
  throw new SspError('bad-request', `not a valid SSP/1 client message: ${result.errors.join('; ')}`, {
    // The same {path, message} entries as invalid-params (SSP-OPEN-11), pointers into the message.
    details: { errors: result.problems },
  });
}
