// Every failure the client reports is one of these classes, each with a stable `code` the
// application can match on (SSP/1 §15 for server codes; the client's own codes below).
import type { ErrorMessage, TerminationMessage } from '../schemas/types.gen.ts';

export abstract class SspError extends Error {
  abstract readonly code: string;
  /** True when the same request may succeed if sent again (the client then retries it). */
  readonly retryable: boolean;
  /** How long the server asked the client to wait before retrying, if it said. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { retryable?: boolean; retryAfterMs?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The server answered with an SSP error message; `code` is the server's code (§15). */
export class SspServerError extends SspError {
  readonly code: ErrorMessage['code'];
  readonly status: number;
  readonly body: ErrorMessage;

  constructor(body: ErrorMessage, status: number, retryable: boolean, retryAfterMs: number | undefined) {
    super(`${body.code}: ${body.message}`, { retryable, retryAfterMs });
    this.code = body.code;
    this.status = status;
    this.body = body;
  }
}

/**
 * The server, or an authentication gateway in front of it, refused the credentials (SSP-CLIENT-20):
 * 401 `unauthorized` or 403 `forbidden`, whether or not the body is an SSP error. Never retried:
 * new credentials make a new request (subscribe again, or supply `headers` as a function).
 */
export class SspAuthError extends SspError {
  readonly code: 'unauthorized' | 'forbidden';
  readonly status: number;
  /** The `WWW-Authenticate` challenge of a 401, if the browser lets the client read it. */
  readonly challenge: string | undefined;
  /** The SSP error message, when the answer was one (a gateway's own page is not). */
  readonly body: ErrorMessage | undefined;

  constructor(code: 'unauthorized' | 'forbidden', status: number, challenge: string | undefined, body: ErrorMessage | undefined, detail: string) {
    super(`${code} (HTTP ${status}): ${detail}`);
    this.code = code;
    this.status = status;
    this.challenge = challenge;
    this.body = body;
  }
}

/** No HTTP answer: connection refused or dropped, DNS failure, or the request timed out. */
export class SspTransportError extends SspError {
  readonly code = 'transport';

  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/**
 * An invalid answer (SSP-CLIENT-19: not a valid SSP/1 answer to the request, or status and body
 * disagree), once retries ran out or at once for a 4xx; or events skipped without a gap (SSP-CLIENT-7).
 */
export class SspProtocolError extends SspError {
  readonly code = 'protocol';
  readonly status: number;

  constructor(message: string, status: number, retryable: boolean, retryAfterMs?: number) {
    super(message, { retryable, retryAfterMs });
    this.status = status;
  }
}

/** Events `from`..`to` (inclusive) will never be delivered (§9: a batch's `gap`, or a `complete` whose `last` never arrived). */
export class SspGapError extends SspError {
  readonly code = 'gap';
  readonly from: number;
  readonly to: number;

  constructor(from: number, to: number) {
    super(from === to ? `event ${from} was lost (gap)` : `events ${from}..${to} were lost (gap)`);
    this.from = from;
    this.to = to;
  }
}

/** The stream ended without delivering everything (termination reason other than complete or closed). */
export class SspTerminationError extends SspError {
  readonly code = 'terminated';
  readonly termination: TerminationMessage;

  constructor(termination: TerminationMessage) {
    const why = termination.error ? `: ${termination.error.message}` : '';
    super(`stream terminated (${termination.reason})${why}`);
    this.termination = termination;
  }
}

/** The subscription was closed before the server confirmed a termination (e.g. close could not reach it). */
export class SspAbortedError extends SspError {
  readonly code = 'aborted';

  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}
