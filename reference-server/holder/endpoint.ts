// The SSP/1 endpoint: GET → discovery, OPTIONS → preflight, POST → one client message
// (spec §4, §6). Every failure becomes the spec's typed error; nothing throws out.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Validator } from '../../schemas/index.ts';
import type { ClientMessage } from '../../schemas/types.gen.ts';
import type { ClientKey } from '../client-key.ts';
import { SspError } from '../errors.ts';
import { lingerAfterResponse } from './framing.ts';
import { ALLOWED_METHODS, checkMediaType, discardBody, isHttp2, readBody, sendError, sendJson, sendPreflight } from './http.ts';
import type { SspRequest, SspResponse } from './http.ts';
import type { MuxHolder } from '../multiplex/holder.ts';
import { isMuxSignature } from '../multiplex/signature.ts';
import { EXTENSION as MULTIPLEX, readExt } from '../multiplex/wire.ts';
import type { SessionHolder } from './sessions.ts';
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
}

/**
 * Largest unneeded body read and discarded before a 405 or 415 so the connection stays
 * open; a larger one gets `Connection: close` and a lingering close instead.
 */
const DISCARD_MAX_BYTES = 65_536;

export type Endpoint = (req: SspRequest, res: SspResponse) => Promise<void>;

export function createEndpoint(options: EndpointOptions): Endpoint {
  const { holder, mux, validator, discoveryBody, maxBodyBytes, bodyTimeoutMs, wheel, clientKey } = options;

  return async function endpoint(req, res) {
    const origin = req.headers.origin;
    let extra: OutgoingHttpHeaders = {};
    try {
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is a bad request.
      if (req.headers.host === undefined && req.httpVersion === '1.1') {
        extra = { connection: 'close' };
        throw new SspError('bad-request', 'HTTP/1.1 request without a Host header');
      }
      if (req.method === 'GET') return sendJson(res, origin, 200, discoveryBody);
      if (req.method === 'OPTIONS') return sendPreflight(req, res);
      if (req.method !== 'POST') {
        extra.allow = ALLOWED_METHODS;
        throw new SspError('method-not-allowed', `method ${req.method} is not allowed; use GET, POST or OPTIONS`);
      }
      checkMediaType(req.headers['content-type']);
      let text: string;
      text = await readBody(req, maxBodyBytes, bodyTimeoutMs, wheel);
      const message = parse(text, validator);
      // §6.5: an extension changes a session only when the client asked for it and we offer it.
      const { ext, extensions } = message as { ext?: unknown; extensions?: unknown };
      if (mux && message.type === 'open' && Array.isArray(extensions) && extensions.includes(MULTIPLEX)) {
        return sendJson(res, origin, 200, await mux.open(message.stream, message.params ?? {}, readExt('open', ext), clientKey(req)));
      }
      if (mux && message.type !== 'open' && isMuxSignature(message.sig)) {
        if (message.type === 'poll') return await mux.poll(message.sig, message.hold, readExt('poll', ext), res, origin, clientKey(req));
        return sendJson(res, origin, 200, mux.close(message.sig));
      }
      if (message.type === 'open') return sendJson(res, origin, 200, await holder.open(message.stream, message.params ?? {}, clientKey(req)));
      // A poll may re-create a forgotten session (§4), which then counts against its client.
      if (message.type === 'poll') return await holder.poll(message.sig, message.hold, res, origin, clientKey(req));
      return sendJson(res, origin, 200, holder.close(message.sig));
    } catch (thrown) {
      let error = thrown;
      if (!(error instanceof SspError)) {
        console.error('xanjax: internal error:', error);
        error = new SspError('internal-error', 'unexpected server fault');
      }
      const sspError = error as SspError;
      // HTTP/2: an unread body ends with its stream alone (RST_STREAM); the connection carries on.
      if (!req.complete && !isHttp2(res)) {
        const plain = req as IncomingMessage;
        // The body is not (all) read. A small one is discarded first (405, 415); after a 413
        // or a timeout, or for a large body, the connection closes, lingering, not reset.
        const readable = sspError.code !== 'payload-too-large' && sspError.code !== 'request-timeout';
        if (!(readable && (await discardBody(plain, DISCARD_MAX_BYTES, bodyTimeoutMs, wheel)))) {
          extra.connection = 'close';
          lingerAfterResponse(plain.socket);
        }
      }
      sendError(res, origin, sspError, extra);
    }
  };
}

/** Text → a schema-valid client message, or bad-request / unsupported-version. */
function parse(text: string, validator: Validator): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SspError('bad-request', `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SspError('bad-request', 'request body must be a JSON object (an SSP/1 client message)');
  }
  const { ssp } = value as { ssp?: unknown };
  // §6.4 step 5, before the shape: a later version's message still learns our versions.
  if (Number.isInteger(ssp) && ssp !== 1) {
    throw new SspError('unsupported-version', `SSP version ${JSON.stringify(ssp)} is not supported`, { versions: [1] });
  }
  const result = validator.validateClientMessage(value);
  // Any string `sig` is well-formed here: the signer answers a malformed one with
  // invalid-signature (§6.4 step 7, SSP-SIGNATURE-5).
  if (result.ok) return value as ClientMessage;
  throw new SspError('bad-request', `not a valid SSP/1 client message: ${result.errors.join('; ')}`, {
    // The same {path, message} entries as invalid-params (SSP-OPEN-11), pointers into the message.
    details: { errors: result.problems },
  });
}
