// Deliberately broken clients (the Python client of this folder with --break FLAG), each
// with the scenarios the client kit must report as failing: exactly these, nothing else.
export interface BrokenClient {
  flag: string;
  /** What the client does wrong. */
  violates: string;
  fails: string[];
}

export const brokenClients: readonly BrokenClient[] = [
  { flag: 'no-dedup', violates: 'SSP-CLIENT-5: delivers events it already delivered', fails: ['SSP-CLIENT-5/duplicates'] },
  { flag: 'first-signature', violates: 'SSP-CLIENT-3: after a lost answer re-polls with the session\'s first signature', fails: ['SSP-CLIENT-3/dropped-answer'] },
  { flag: 'ignore-retry-after', violates: 'SSP-CLIENT-18: retries after its own backoff, ignoring Retry-After', fails: ['SSP-CLIENT-18/retry-after'] },
  { flag: 'tight-retry', violates: 'SSP-CLIENT-17: retries failed requests at once', fails: ['SSP-CLIENT-17/backoff'] },
  { flag: 'gap-silent', violates: 'SSP-CLIENT-15: treats a gap as silence (reports no loss)', fails: ['SSP-CLIENT-15/gap'] },
];
