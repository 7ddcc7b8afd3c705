// Deliberately broken clients (the Python client of this folder with --break FLAG), each
// with the scenarios the client kit must report as failing: exactly these, nothing else.
export interface BrokenClient {
  flag: string;
  /** What the client does wrong. */
  violates: string;
  fails: string[];
}

export const brokenClients: readonly BrokenClient[] = [
  { flag: 'form-encoded', violates: 'SSP-CLIENT-1: sends its messages as application/x-www-form-urlencoded', fails: ['SSP-CLIENT-1/every-request'] },
  {
    flag: 'watchdog-repoll',
    violates: 'SSP-CLIENT-8: a stall watchdog (2 s, shorter than its 3 s hold) sends the same poll again while the first is still held',
    fails: ['SSP-CLIENT-26/answer-deadline', 'SSP-CLIENT-8/every-request'],
  },
  { flag: 'no-ssp-member', violates: 'SSP-CLIENT-2: leaves "ssp": 1 out of its polls', fails: ['SSP-CLIENT-2/every-request'] },
  { flag: 'sig-in-url', violates: 'SSP-SECURITY-8: repeats the signature in the query string of its polls and closes', fails: ['SSP-SECURITY-8/every-request'] },
  { flag: 'skip-silent', violates: 'SSP-CLIENT-7: delivers events after a skip without reporting it', fails: ['SSP-CLIENT-16/after-skip', 'SSP-CLIENT-7/skip-without-gap'] },
  { flag: 'no-dedup', violates: 'SSP-CLIENT-5: delivers events it already delivered', fails: ['SSP-CLIENT-15/overlapping-gap', 'SSP-CLIENT-3/out-of-order', 'SSP-CLIENT-5/duplicates'] },
  { flag: 'first-signature', violates: 'SSP-CLIENT-3: after a lost answer re-polls with the session\'s first signature', fails: ['SSP-CLIENT-17/jitter', 'SSP-CLIENT-3/dropped-answer'] },
  { flag: 'adopt-latest', violates: 'SSP-CLIENT-3: takes the signature of the answer that arrived last, even at an older position', fails: ['SSP-CLIENT-3/out-of-order'] },
  { flag: 'ignore-retry-after', violates: 'SSP-CLIENT-18: retries after its own backoff, ignoring Retry-After', fails: ['SSP-CLIENT-18/retry-after'] },
  { flag: 'tight-retry', violates: 'SSP-CLIENT-17: retries failed requests at once', fails: ['SSP-CLIENT-17/backoff', 'SSP-CLIENT-17/jitter'] },
  { flag: 'no-jitter', violates: 'SSP-CLIENT-17: waits exactly d, never a random time', fails: ['SSP-CLIENT-17/jitter'] },
  { flag: 'gap-silent', violates: 'SSP-CLIENT-15: treats a gap as silence (reports no loss)', fails: ['SSP-CLIENT-15/gap', 'SSP-CLIENT-15/overlapping-gap'] },
  { flag: 'gap-as-sent', violates: 'SSP-CLIENT-15: reports every gap whole, also the events it already has and a replayed gap behind it', fails: ['SSP-CLIENT-15/overlapping-gap'] },
  { flag: 'no-empty-wait', violates: 'SSP-CLIENT-9: polls again at once after an empty batch', fails: ['SSP-CLIENT-9/empty-batch', 'SSP-CLIENT-9/superseded'] },
  { flag: 'ignore-advice-delay', violates: 'SSP-CLIENT-13: follows resume advice at once, ignoring advice.delayMs', fails: ['SSP-CLIENT-13/advice-resume'] },
  { flag: 'unknown-reason-stops', violates: 'SSP-CLIENT-23: stops on a termination reason it does not know, whatever its advice', fails: ['SSP-CLIENT-23/unknown-reason'] },
  { flag: 'retry-unknown-codes', violates: 'SSP-CLIENT-22: repeats a request answered with an unknown code that is not retryable', fails: ['SSP-CLIENT-22/unknown-code-4xx', 'SSP-CLIENT-22/unknown-code-5xx'] },
  { flag: 'retry-not-retryable', violates: 'SSP-CLIENT-12: repeats a request answered with a known non-retryable error', fails: ['SSP-CLIENT-12/not-retryable'] },
  { flag: 'deliver-after-skip', violates: 'SSP-CLIENT-16: reports events skipped without a gap, then goes on delivering', fails: ['SSP-CLIENT-16/after-skip'] },
  {
    flag: 'invalid-200-fatal',
    violates: 'SSP-CLIENT-19: reports an invalid 200 (schema-invalid, a gap with from > to, or one not followed by gap.to + 1) as fatal instead of retrying it',
    fails: ['SSP-CLIENT-19/gap-not-adjacent', 'SSP-CLIENT-19/invalid-200', 'SSP-CLIENT-19/inverted-gap'],
  },
  { flag: 'inverted-gap-as-loss', violates: 'SSP-CLIENT-19: takes a batch whose gap has from > to as valid and reports the gap as a loss', fails: ['SSP-CLIENT-19/inverted-gap'] },
  { flag: 'gap-not-adjacent-accepted', violates: 'SSP-CLIENT-19: takes a batch with gap whose first event is not gap.to + 1 as valid, reporting the gap and handling its events as sent', fails: ['SSP-CLIENT-19/gap-not-adjacent'] },
  { flag: 'reopen-at-once', violates: 'SSP-CLIENT-24: follows repeated reopen advice without backing off', fails: ['SSP-CLIENT-24/repeated-reopen'] },
  { flag: 'short-deadline', violates: 'SSP-CLIENT-26: abandons a poll after half its hold', fails: ['SSP-CLIENT-26/answer-deadline'] },
  { flag: 'no-hold', violates: 'SSP-CLIENT-27: sends no hold although it never read discovery', fails: ['SSP-CLIENT-27/no-discovery'] },
  { flag: 'open-only-credentials', violates: 'SSP-CLIENT-28: sends its credentials with the open only', fails: ['SSP-CLIENT-28/credentials'] },
  { flag: 'auth-retry', violates: 'SSP-CLIENT-20: repeats a request answered 401, unchanged', fails: ['SSP-CLIENT-20/unauthorized'] },
  { flag: 'ext-strict', violates: 'SSP-CLIENT-21: treats an answer with ext members it does not know as invalid', fails: ['SSP-CLIENT-21/unknown-ext'] },
  { flag: 'expired-fatal', violates: 'SSP-CLIENT-25: reports session-expired and invalid-signature on a poll as errors instead of opening a new session', fails: ['SSP-CLIENT-25/invalid-signature', 'SSP-CLIENT-25/session-expired'] },
  {
    flag: 'restart-silent',
    violates: 'SSP-CLIENT-29: opens a new session without reporting a stream restart',
    fails: ['SSP-CLIENT-23/unknown-reason', 'SSP-CLIENT-24/repeated-reopen', 'SSP-CLIENT-25/invalid-signature', 'SSP-CLIENT-25/session-expired', 'SSP-CLIENT-29/advice-reopen'],
  },
  { flag: 'mux-no-dedup', violates: 'SSP-MUX-16: delivers a stream\'s re-delivered events again', fails: ['SSP-MUX-16/exactly-once'] },
  { flag: 'mux-end-session', violates: 'SSP-MUX-16: a stream\'s error termination ends every stream', fails: ['SSP-MUX-16/stream-end'] },
  {
    flag: 'mux-skip-silent',
    violates: 'SSP-CLIENT-7: in a multiplexed session, delivers a stream\'s events after a skip without reporting it',
    fails: ['SSP-CLIENT-16/multiplex-after-skip', 'SSP-CLIENT-7/multiplex-skip'],
  },
  { flag: 'mux-deliver-after-skip', violates: 'SSP-CLIENT-16: in a multiplexed session, reports a stream\'s skip, then goes on delivering its events', fails: ['SSP-CLIENT-16/multiplex-after-skip'] },
  {
    flag: 'mux-skip-keeps-stream',
    violates: 'SSP-CLIENT-16: in a multiplexed session, ends a stream\'s delivery after its skip but never removes the stream (its close, SSP-CLIENT-14)',
    fails: ['SSP-CLIENT-16/multiplex-after-skip'],
  },
  {
    flag: 'mux-invalid-gap-accepted',
    violates: 'SSP-CLIENT-19: in a multiplexed session, takes a stream part whose gap is inverted or not followed by gap.to + 1 as valid',
    fails: ['SSP-CLIENT-19/multiplex-invalid-gap'],
  },
  { flag: 'mux-reopen-ends', violates: 'SSP-CLIENT-13: in a multiplexed session, takes a stream\'s reopen advice as the end of the stream', fails: ['SSP-CLIENT-29/multiplex-reopen'] },
  {
    flag: 'mux-restart-silent',
    violates: 'SSP-CLIENT-29: in a multiplexed session, opens a new session after session-expired without reporting the streams\' restarts',
    fails: ['SSP-CLIENT-25/multiplex-session-expired'],
  },
  { flag: 'mux-retry-not-retryable', violates: 'SSP-CLIENT-12: in a multiplexed session, repeats a poll answered 400 bad-request', fails: ['SSP-CLIENT-12/multiplex-not-retryable'] },
  {
    flag: 'mux-error-reopens',
    violates: 'SSP-CLIENT-12: in a multiplexed session, opens a new session after a poll answered 400 bad-request, as after session-expired, instead of reporting the fault',
    fails: ['SSP-CLIENT-12/multiplex-not-retryable'],
  },
  { flag: 'mux-forget-changes', violates: 'SSP-MUX-17: does not send again the additions whose answer was lost', fails: ['SSP-MUX-17/lost-change'] },
  { flag: 'deliver-after-close', violates: 'SSP-CLIENT-30: after sending close, still polls and delivers what arrives', fails: ['SSP-CLIENT-14/close-on-stop', 'SSP-CLIENT-30/close-while-held'] },
];
