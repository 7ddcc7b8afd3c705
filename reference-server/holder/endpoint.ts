// The SSP/1 endpoint: GET and HEAD → discovery, OPTIONS → preflight, POST → one client
// message (spec §4, §6). Every failure becomes the spec's typed error; nothing throws out.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Authorize } from '../authorize.ts';
import { decide, denialError } from '../authorize.ts';
import type { Validator } from '../../schemas/index.ts';
import type { ClientMessage } from '../../schemas/types.gen.ts';
import type { ClientKey } from '../client-key.ts';
import { SspError } from '../errors.ts';
import { lingerAfterResponse } from './framing.ts';
import { ALLOWED_METHODS, checkMediaType, discardBody, readBody, sendError, sendJson, sendPreflight } from './http.ts';
import type { SessionHolder } from './sessions.ts';
import { parseStrictJson } from './strict-json.ts';
import type { TimerWheel } from './timer-wheel.ts';

export interface EndpointOptions {
  holder: SessionHolder;
  validator: Validator;
  discoveryBody: string;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  wheel: TimerWheel;
  clientKey: ClientKey;
  /** §4.5: checks open, poll and close; absent means no credentials are required. */
  authorize?: Authorize | undefined;
}

/**
 * Largest unneeded body read and discarded before a 405 or 415 so the connection stays
 * open; a larger one gets `Connection: close` and a lingering close instead.
 */
const DISCARD_MAX_BYTES = 65_536;

export type Endpoint = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createEndpoint(options: EndpointOptions): Endpoint {
  const { holder, validator, discoveryBody, maxBodyBytes, bodyTimeoutMs, wheel, clientKey, authorize } = options;

  return async function endpoint(req, res) {
    const origin = req.headers.origin;
    let extra: OutgoingHttpHeaders = {};
    try {
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
      if (req.headers.host === undefined && req.httpVersion === '1.1') {
        extra = { connection: 'close' };
        throw new SspError('bad-request', 'HTTP/1.1 request without a Host header');
      }
      // SSP-TRANSPORT-15: HEAD gets GET's status and header fields; Node sends no body for HEAD.
      if (req.method === 'GET' || req.method === 'HEAD') return sendJson(res, origin, 200, discoveryBody);
      if (req.method === 'OPTIONS') return sendPreflight(req, res);
      if (req.method !== 'POST') {
        extra.allow = ALLOWED_METHODS;
        throw new SspError('method-not-allowed', `method ${req.method} is not allowed; use GET, HEAD, POST or OPTIONS`);
      }
      checkMediaType(req);
      let text: string;
      text = await readBody(req, maxBodyBytes, bodyTimeoutMs, wheel);
      // `ext` members are ignored (SSP-EXT-1): nothing below reads them.
      const message = parse(text, validator);
      if (message.type === 'open') {
        const opening = holder.checkOpen(message.stream, message.params ?? {});
        if (authorize) {
          // §6.4 step 13: forbidden after invalid-params, before too-many-sessions.
          const denial = await decide(authorize, req, opening.stream.name, opening.params);
          if (denial) {
            const { error, headers } = denialError(denial);
            Object.assign(extra, headers);
            throw error;
          }
        }
        return sendJson(res, origin, 200, await holder.open(opening, clientKey(req), message.extensions));
      }
      if (authorize) {
        // §6.4 step 14: credentials are checked again on poll and close (SSP-AUTH-5/6).
        const found = holder.lookup(message.sig);
        if ('body' in found) return sendJson(res, origin, 200, found.body);
        const denial = await decide(authorize, req, found.stream, found.params);
        if (denial?.deny === 'forbidden') return sendJson(res, origin, 200, holder.revoke(message.sig));
        if (denial) {
          const { error, headers } = denialError(denial);
          Object.assign(extra, headers);
          throw error;
        }
      }
      // A poll may re-create a forgotten session (§8.4), which then counts against its client.
      if (message.type === 'poll') return await holder.poll(message.sig, message.hold, res, origin, clientKey(req));
      return sendJson(res, origin, 200, await holder.close(message.sig));
    } catch (thrown) {
      let error = thrown;
      if (!(error instanceof SspError)) {
        console.error('xanjax: internal error:', error);
        error = new SspError('internal-error', 'unexpected server fault');
      }
      const sspError = error as SspError;
      if (!req.complete) {
        // The body is not (all) read. A small one is discarded first (405, 415); after a 413
        // or a timeout, or for a large body, the connection closes, lingering, not reset.
        const readable = sspError.code !== 'payload-too-large' && sspError.code !== 'request-timeout';
        if (!(readable && (await discardBody(req, DISCARD_MAX_BYTES, bodyTimeoutMs, wheel)))) {
          extra.connection = 'close';
          lingerAfterResponse(req.socket);
        }
      }
      sendError(res, origin, sspError, extra);
    }
  };
}

/** Text → a schema-valid client message, or bad-request / unsupported-version. */
function parse(text: string, validator: Validator): ClientMessage {
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
