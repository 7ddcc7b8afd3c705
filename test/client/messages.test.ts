// The client's hand-written message checks against the shared schema vectors: every valid
// server message passes; every invalid one fails unless it breaks only a rule the client
// deliberately tolerates (it never relies on those fields).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { multiplexPartsProblem, parseServerMessage } from '../../reference-client/messages.ts';
import type { ServerMessage } from '../../schemas/types.gen.ts';
import { parseRetryAfter, retryDelayMs, defaultRetryOptions } from '../../reference-client/retry.ts';

type Vector = { description: string; data: unknown; valid: boolean };
const vectors = (kind: string): Vector[] => JSON.parse(readFileSync(new URL(`../../schemas/vectors/${kind}.json`, import.meta.url), 'utf8'));

// Rules the client does not rely on (cross-field rules of no use to it), and the open registries:
// error codes, termination reasons and advice actions that this client does not know are
// accepted and given a meaning by SSP-CLIENT-22 and -23, not rejected.
const tolerated = new Set([
  'invalid stream name',
  'unknown error code',
  'error code in upper case',
  'non-retryable code marked retryable',
  'retryable code marked non-retryable',
  'unauthorized marked retryable',
  'request-timeout marked not retryable',
  'too-many-sessions without retryAfterMs',
  'unavailable without retryAfterMs',
  'unsupported-version without versions',
  'unsupported-version with empty versions',
  'versions on another code',
  'details is a string',
  // Issue 8: the client acts on unknown reasons and actions (SSP-CLIENT-23).
  'unknown reason',
  'unknown advice action',
]);

// Rules a schema cannot express but the client checks (§16 "invalid answer"): gap from <= to, a
// batch with gap beginning at gap.to + 1. (Seqs that skip are SSP-CLIENT-7's, checked on delivery.)
function breaksProtocol(data: unknown): boolean {
  const batch = data as { gap?: { from: number; to: number }; events?: { seq: number }[] };
  if (batch.gap === undefined) return false;
  const first = batch.events?.[0];
  return batch.gap.from > batch.gap.to || (first !== undefined && first.seq !== batch.gap.to + 1);
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

  it('rejects non-JSON, inverted gaps and members outside ext; ignores what ext holds (SSP-CLIENT-19, -21)', () => {
    expect(parseServerMessage('{"ssp":1,')).toEqual({ ok: false, problem: 'body is not JSON' });
    const batch = { ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [] };
    expect(parseServerMessage(JSON.stringify({ ...batch, gap: { from: 5, to: 4 } }))).toEqual({ ok: false, problem: 'batch "gap" has from 5 > to 4' });
    expect(parseServerMessage(JSON.stringify({ ...batch, trace: 'x' })).ok).toBe(false);
    expect(parseServerMessage(JSON.stringify({ ...batch, ext: { 'com.example.trace': { id: 1 }, multiplex: [1] } })).ok).toBe(true);
    expect(parseServerMessage(JSON.stringify({ ...batch, ext: 'x' })).ok).toBe(false);
  });

  it('checks each stream part of a multiplexed answer as a batch (§23.4, SSP-CLIENT-19)', () => {
    const answer = (streams: unknown) => ({ ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [], ext: { multiplex: { streams } } }) as unknown as ServerMessage;
    const part = { id: 'a', gap: { from: 3, to: 4 }, events: [{ seq: 5, data: 0 }] };
    expect(multiplexPartsProblem(answer([part, { id: 'b', events: [], termination: { reason: 'complete', last: 2, advice: { action: 'none' } } }]))).toBeUndefined();
    expect(multiplexPartsProblem({ ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [] })).toBeUndefined();
    expect(multiplexPartsProblem(answer([{ ...part, gap: { from: 5, to: 3 }, events: [{ seq: 4, data: 0 }] }]))).toBe('stream a\'s part "gap" has from 5 > to 3');
    expect(multiplexPartsProblem(answer([{ ...part, events: [{ seq: 6, data: 0 }] }]))).toBe("stream a's part with gap to 4 begins at seq 6, not 5");
    expect(multiplexPartsProblem(answer([{ ...part, trace: 1 }]))).toMatch(/member "trace" not defined/);
    expect(multiplexPartsProblem(answer([{ events: [] }]))).toMatch(/no stream "id"/);
    expect(multiplexPartsProblem(answer([{ id: 'b', events: [], termination: { reason: 'complete' } }]))).toBe("stream b's termination is invalid");
    expect(multiplexPartsProblem(answer('x'))).toBe('ext.multiplex.streams is not an array');
  });

  it('leaves seqs that skip within a batch to delivery, where they are SSP-CLIENT-7 protocol errors', () => {
    const batch = { ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [{ seq: 2, data: 0 }, { seq: 4, data: 0 }] };
    expect(parseServerMessage(JSON.stringify(batch)).ok).toBe(true);
  });
});

describe('retry timing', () => {
  const options = { ...defaultRetryOptions, initialDelayMs: 100, maxDelayMs: 1_000 };

  it('SSP-CLIENT-17: a random delay between d/2 and d, d doubling per attempt up to maxDelayMs', () => {
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

  it('never sooner than the server advised (SSP-CLIENT-18: the longer wait wins)', () => {
    expect(retryDelayMs(1, 5_000, options, () => 0.5)).toBe(5_000);
    expect(retryDelayMs(4, 10, options, () => 0.5)).toBe(600);
  });

  it('caps d for a live session (SSP-CLIENT-17): half the idle timeout', () => {
    expect(retryDelayMs(20, undefined, defaultRetryOptions, () => 0.999_999, 1_000)).toBe(999);
    expect(retryDelayMs(20, undefined, defaultRetryOptions, () => 0, 1_000)).toBe(500);
    expect(retryDelayMs(20, 3_000, defaultRetryOptions, () => 0, 1_000)).toBe(3_000);
  });

  it('reads Retry-After as delta-seconds or an HTTP-date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:02 GMT', now)).toBe(2_000);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
