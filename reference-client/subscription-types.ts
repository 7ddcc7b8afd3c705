// The public shapes of a subscription: its options, and the notifications and items it reports.
import type { SspEvent, TerminationMessage } from '../schemas/types.gen.ts';
import type { SspAuthError, SspError, SspGapError, SspServerError } from './errors.ts';
import type { RetryOptions } from './retry.ts';

export interface SubscribeOptions {
  /** `hold` sent with each poll. Default: none when discovery gave `maxHoldMs` (the server's maximum applies), else 25 000 (SSP-CLIENT-27). */
  holdMs?: number | undefined;
  /** Backoff for failed requests (SSP-CLIENT-17) and for advice that brings no event (SSP-CLIENT-24). */
  retry?: Partial<RetryOptions> | undefined;
  /** Least time from sending a poll to sending the next one when it brought no new event. Default 1000 (SSP-CLIENT-9). */
  minPollIntervalMs?: number | undefined;
  /** How long to wait for an answer beyond what the server may take (a poll's effective hold + batchDelayMs, SSP-CLIENT-26). Default 10 000. */
  requestTimeoutMs?: number | undefined;
  /** How long close() waits for the server to confirm. Default 5 000. */
  closeTimeoutMs?: number | undefined;
  /** The async iterator stops polling while this many items wait unread. Default 100. */
  highWaterMark?: number | undefined;
  /** 'fail' (default): a gap ends the subscription with SspGapError. 'continue': report it on 'gap' and go on. */
  gaps?: 'fail' | 'continue' | undefined;
  /** Read the discovery document first, for the limits (§16.1). Default true; failures are ignored. */
  discovery?: boolean | undefined;
  /** Headers sent with every request (credentials, SSP-CLIENT-28); a function is called per request, so refreshed tokens apply at once. */
  headers?: (Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)) | undefined;
  /**
   * Called on a 401 or 403 (SspAuthError). Resolve true once the credentials that `headers` returns
   * are renewed: the request is sent again with them (a poll keeps its signature, so nothing is
   * lost: SSP-AUTH-5), after the usual backoff. False, or no hook, ends the subscription.
   */
  renewCredentials?: ((error: SspAuthError) => boolean | Promise<boolean>) | undefined;
  /** fetch's `credentials`: 'include' sends cookies to an endpoint on another origin (browsers). */
  credentials?: 'omit' | 'same-origin' | 'include' | undefined;
  /** Aborting it closes the subscription. */
  signal?: AbortSignal | undefined;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: (() => number) | undefined;
  /**
   * Share one session with the other subscriptions to this endpoint when the server offers the
   * `multiplex` extension (spec §23; one held poll for all). Default true; plain sessions otherwise.
   */
  multiplex?: boolean | undefined;
}

/** A new session of the stream replaced the old one (SSP-CLIENT-29): seq restarts at 1, events may repeat, events in between may be lost. */
export interface StreamRestartNotice {
  code: 'restart';
  /** The termination whose `reopen` advice ended the old session, or the error that showed it was gone (SSP-CLIENT-25). */
  cause: { termination: TerminationMessage } | { error: SspServerError };
  /** Highest seq accepted from the old session. */
  lastSeq: number;
  /** How many sessions this subscription has opened before the new one. */
  sessions: number;
}

/** The server advised `reopen` (§12). Kept for existing listeners; 'restart' also covers lost sessions. */
export interface ReopenedNotice {
  code: 'reopened';
  termination: TerminationMessage;
  /** lastSeq of the session that ended. */
  lastSeq: number;
}

/** A request failed in a retryable way and will be sent again after `delayMs`. */
export interface RetryNotice {
  code: 'retry';
  attempt: number;
  delayMs: number;
  error: SspError;
}

/** What items() yields: events, reported gaps and stream restarts, in the order they happened. */
export type SubscriptionItem =
  | { kind: 'event'; event: SspEvent }
  | { kind: 'gap'; gap: SspGapError }
  | { kind: 'restart'; restart: StreamRestartNotice };

export interface SubscriptionEventMap {
  /** Each event exactly once per session, in seq order. */
  event: SspEvent;
  /** Events that will never arrive; with gaps 'fail' an 'error' follows. */
  gap: SspGapError;
  /** The final termination. */
  termination: TerminationMessage;
  /** The subscription failed and has stopped. */
  error: SspError;
  /** A new session replaced the old one; emitted before its first event. */
  restart: StreamRestartNotice;
  reopened: ReopenedNotice;
  retry: RetryNotice;
}
