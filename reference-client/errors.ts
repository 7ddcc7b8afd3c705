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

/** No HTTP answer: connection refused or dropped, DNS failure, or the request timed out. */
export class SspTransportError extends SspError {
  readonly code = 'transport';

  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** An HTTP answer that is not a valid SSP/1 message for the request (or an unexpected status). */
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
