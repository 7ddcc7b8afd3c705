// The client's hand-written message checks against the shared schema vectors: every valid
// server message passes; every invalid one fails unless it breaks only a rule the client
// deliberately tolerates (it never relies on those fields).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseServerMessage } from '../../reference-client/messages.ts';
import { parseRetryAfter, retryDelayMs, defaultRetryOptions } from '../../reference-client/retry.ts';

type Vector = { description: string; data: unknown; valid: boolean };
const vectors = (kind: string): Vector[] => JSON.parse(readFileSync(new URL(`../../schemas/vectors/${kind}.json`, import.meta.url), 'utf8'));

// Forward compatibility (extra fields, newer codes) and cross-field rules of no use to a client.
const tolerated = new Set([
  'unknown top-level property',
  'event with an unknown property',
  'gap with an unknown property',
  'advice with an unknown property',
  'invalid stream name',
  'error object with a reason other than error',
  'unknown error code',
  'error code in upper case',
  'non-retryable code marked retryable',
  'retryable code marked non-retryable',
  'too-many-sessions without retryAfterMs',
  'unavailable without retryAfterMs',
  'unsupported-version without versions',
  'unsupported-version with empty versions',
  'versions on another code',
  'details is a string',
  // Issue 8: the client reads neither extensions nor ext, and takes retryable as sent.
  'session with extensions that is not an array',
  'event with ext (events carry none)',
  'advice with ext (objects inside messages carry none)',
  'unauthorized marked retryable',
  'request-timeout marked not retryable',
  'revoked termination with an error member',
]);

// Rules a schema cannot express but the client checks (§9): gap from <= to, consecutive seqs.
function breaksProtocol(data: unknown): boolean {
  const batch = data as { gap?: { from: number; to: number }; events?: { seq: number }[] };
  const skips = batch.events?.some((event, i) => i > 0 && event.seq !== batch.events![i - 1]!.seq + 1) ?? false;
  return (batch.gap !== undefined && batch.gap.from > batch.gap.to) || skips;
}

describe('parseServerMessage() against schemas/vectors', () => {
  for (const kind of ['session', 'batch', 'termination', 'error', 'server-message']) {
    for (const { description, data, valid } of vectors(kind)) {
      const expected = (valid && !breaksProtocol(data)) || tolerated.has(description);
      it(`${kind}: ${description} → ${expected ? 'accepted' : 'rejected'}`, () => {
        expect(parseServerMessage(JSON.stringify(data)).ok).toBe(expected);
      });
    }
  }

  it('rejects non-JSON and seq numbers that do not increase by one within a batch', () => {
    expect(parseServerMessage('{"ssp":1,')).toEqual({ ok: false, problem: 'body is not JSON' });
    const batch = { ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [{ seq: 2, data: 0 }, { seq: 4, data: 0 }] };
    expect(parseServerMessage(JSON.stringify(batch))).toEqual({ ok: false, problem: 'batch seq 4 follows 2' });
  });
});

describe('retry timing', () => {
  const options = { ...defaultRetryOptions, initialDelayMs: 100, maxDelayMs: 1_000 };

  it('SSP-CLIENT-10: a random delay between d/2 and d, d doubling per attempt up to maxDelayMs', () => {
    expect(retryDelayMs(1, undefined, options, () => 0)).toBe(50);
    expect(retryDelayMs(1, undefined, options, () => 0.999_999)).toBe(99);
    expect(retryDelayMs(3, undefined, options, () => 0.5)).toBe(300);
    expect(retryDelayMs(20, undefined, options, () => 0)).toBe(500);
    expect(retryDelayMs(20, undefined, options, () => 0.999_999)).toBe(999);
  });

  it('defaults are the spec numbers: d = 1 s for the first retry, capped at 30 s', () => {
    expect(retryDelayMs(1, undefined, defaultRetryOptions, () => 0)).toBe(500);
    expect(retryDelayMs(1, undefined, defaultRetryOptions, () => 0.999_999)).toBe(999);
    expect(retryDelayMs(30, undefined, defaultRetryOptions, () => 0)).toBe(15_000);
    expect(retryDelayMs(30, undefined, defaultRetryOptions, () => 0.999_999)).toBe(29_999);
  });

  it('never sooner than the server advised', () => {
    expect(retryDelayMs(1, 5_000, options, () => 0.5)).toBe(5_000);
  });

  it('reads Retry-After as delta-seconds or an HTTP-date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:02 GMT', now)).toBe(2_000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
