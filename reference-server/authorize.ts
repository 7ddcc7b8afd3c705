// Authorization (spec §4.5): the library's `authorize(request, stream, params)` hook and the
// bearer-token check behind `serve --auth-token`.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SspError } from './errors.ts';

/**
 * What `authorize` decides. 'allow'; 'unauthorized': no acceptable credentials (401 with
 * WWW-Authenticate, the session unchanged, SSP-AUTH-3/5); 'forbidden': accepted credentials
 * that may not read this stream (403 at open, SSP-AUTH-4; on a poll or close the session ends
 * with the `revoked` termination, SSP-AUTH-6). The object form adds a message for the error
 * and, for 'unauthorized', the WWW-Authenticate challenge.
 */
export type AuthorizeOutcome =
  | 'allow'
  | 'unauthorized'
  | 'forbidden'
  | { deny: 'unauthorized' | 'forbidden'; message?: string; challenge?: string };

/**
 * Called for every `open` (with the stream and the checked params it asks for) and every
 * `poll` and `close` of a live or forgettable session (with the session's stream and params),
 * never for discovery or preflights (SSP-AUTH-2). May be async.
 */
export type Authorize = (
  request: IncomingMessage,
  stream: string,
  params: Readonly<Record<string, unknown>>,
) => AuthorizeOutcome | Promise<AuthorizeOutcome>;

export const DEFAULT_CHALLENGE = 'Bearer realm="xanjax"';

export interface Denial {
  deny: 'unauthorized' | 'forbidden';
  message: string;
  challenge: string;
}

/** Runs the hook; undefined means allowed. A hook that throws is an internal error, not a denial. */
export async function decide(authorize: Authorize, req: IncomingMessage, stream: string, params: Readonly<Record<string, unknown>>): Promise<Denial | undefined> {
  const outcome = await authorize(req, stream, params);
  if (outcome === 'allow') return undefined;
  const deny = typeof outcome === 'string' ? outcome : outcome.deny;
  if (deny !== 'unauthorized' && deny !== 'forbidden') throw new TypeError(`authorize returned ${JSON.stringify(outcome)}`);
  const detail: { message?: string | undefined; challenge?: string | undefined } = typeof outcome === 'string' ? {} : outcome;
  return {
    deny,
    message: detail.message ?? (deny === 'unauthorized' ? 'credentials are missing or not accepted' : `access to stream '${stream}' is not granted`),
    challenge: detail.challenge ?? DEFAULT_CHALLENGE,
  };
}

/** The error of a denial (SSP-AUTH-3: 401 carries WWW-Authenticate). */
export function denialError(denial: Denial): { error: SspError; headers: Record<string, string> } {
  const error = new SspError(denial.deny, denial.message);
  return { error, headers: denial.deny === 'unauthorized' ? { 'www-authenticate': denial.challenge } : {} };
}

/**
 * `serve --auth-token T`: every open, poll and close must carry `Authorization: Bearer T`
 * (compared in constant time). A demo of the hook, not an identity system: one shared token.
 */
export function bearerToken(token: string): Authorize {
  const expected = Buffer.from(token, 'utf8');
  const challenge = 'Bearer realm="xanjax"';
  return (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) return { deny: 'unauthorized', message: 'send Authorization: Bearer <token>', challenge };
    const given = Buffer.from(match[1] ?? '', 'utf8');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return ok ? 'allow' : { deny: 'unauthorized', message: 'bearer token is not accepted', challenge: `${challenge}, error="invalid_token"` };
  };
}
