// spec §8: unforgeable signatures, expiry, and resume across a restart with a fixed secret.
// Re-creating forgotten sessions (SSP-SIGNATURE-11/13) is safe only where terminations
// survive the restart (SSP-SIGNATURE-14): these servers say so with keepsTerminations, which
// stands in for a durable log's termination memory (no session here terminates before a
// restart). The memory-only default is tested at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { Signer } from '../../reference-server/signature.ts';
import { close, drain, open, poll, readThenStop, sleep, start } from './helpers.ts';

let server: SspServer;
let url: string;

beforeAll(async () => {
  server = await start({ conformance: true, secret: 'test-secret', keepsTerminations: true, limits: { maxHoldMs: 300, idleTimeoutMs: 2000 } });
  url = server.url;
});
afterAll(() => server.close());

/** Replaces the character at i with another base64url character. */
function flip(sig: string, i: number): string {
  const c = sig[i] === 'A' ? 'B' : 'A';
  return sig.slice(0, i) + c + sig.slice(i + 1);
}

describe('rejects forged signatures with invalid-signature', () => {
  it.each([
    ['a flipped payload character', (s: string) => flip(s, 10)],
    ['a flipped MAC character', (s: string) => flip(s, s.length - 5)],
    ['a flipped last character', (s: string) => flip(s, s.length - 1)],
    ['a truncated MAC', (s: string) => s.slice(0, -1)],
    ['a truncated payload', (s: string) => s.slice(4)],
    ['no MAC', (s: string) => s.slice(0, s.indexOf('.'))],
    ['an appended character', (s: string) => `${s}A`],
  ])('%s', async (_name, tamper) => {
    const sig = await open(url, 'ssp.counter', { count: 2 });
    for (const send of [poll, close] as const) {
      const r = await send(url, tamper(sig), 0);
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('invalid-signature');
    }
    // The session itself is untouched.
    expect((await poll(url, sig, 0)).json.events.length).toBe(2);
  });

  it('a payload edited to another position, re-encoded, does not verify', async () => {
    const sig = await open(url, 'ssp.counter', { count: 2 });
    const [payload, mac] = sig.split('.');
    const edited = Buffer.from(Buffer.from(payload, 'base64url').toString().replace(/,0,(\d+)\]$/, ',1,$1]')).toString('base64url');
    expect(edited).not.toBe(payload);
    const r = await poll(url, `${edited}.${mac}`, 0);
    expect(r.json.code).toBe('invalid-signature');
  });

  it('a signature from a server with another secret', async () => {
    const other = await start({ conformance: true, secret: 'another-secret' });
    try {
      const foreign = await open(other.url, 'ssp.counter', { count: 2 });
      const r = await poll(url, foreign, 0);
      expect(r.status).toBe(403);
      expect(r.json.code).toBe('invalid-signature');
      expect(r.json.message).toMatch(/another key/);
    } finally {
      await other.close();
    }
  });

  it('never mixes sessions: payload of one session with the MAC of another', async () => {
    const a = await open(url, 'ssp.counter', { count: 2 });
    const b = await open(url, 'ssp.counter', { count: 3 });
    const swapped = `${a.split('.')[0]}.${b.split('.')[1]}`;
    expect((await poll(url, swapped, 0)).json.code).toBe('invalid-signature');
    // Each signature still reaches only its own session.
    expect((await poll(url, a, 0)).json.events.length).toBe(2);
    expect((await poll(url, b, 0)).json.events.length).toBe(3);
  });
});

it("the poll fast path recognizes only the exact signature issued, from the session's kept MAC", () => {
  const signer = new Signer('test-secret');
  const key = signer.key('AAAAAAAAAAAAAAAAAAAAAA', 'ssp.counter', { count: 2 });
  const [sig, mac] = signer.signKeepingMac(key, 3, 1_900_000_000_000);
  expect(sig).toBe(signer.sign(key, 3, 1_900_000_000_000));
  expect(sig.endsWith(`.${mac}`)).toBe(true);
  expect(signer.isIssued(sig, key, 3, 1_900_000_000_000, mac)).toBe(true);
  // Any one character changed (prefix, position and expiry, the '.', the MAC), or the length.
  const others = [...Array.from({ length: sig.length }, (_, i) => flip(sig, i)), sig.slice(0, -1), `${sig}A`];
  for (const other of others) {
    expect(signer.isIssued(other, key, 3, 1_900_000_000_000, mac)).toBe(false);
  }
  // Another position or expiry is another signature, even with the same MAC kept.
  expect(signer.isIssued(sig, key, 4, 1_900_000_000_000, mac)).toBe(false);
  expect(signer.isIssued(sig, key, 3, 1_900_000_000_001, mac)).toBe(false);
});

it('answers an expired signature with session-expired', async () => {
  const signer = new Signer('test-secret');
  const expired = signer.sign(signer.key('some-session', 'ssp.counter', { count: 2, intervalMs: 0, size: 0 }), 0, Date.now() - 1);
  const r = await poll(url, expired, 0);
  expect(r.status).toBe(410);
  expect(r.json.code).toBe('session-expired');
});

it('a verified signature of an unknown session re-creates a resumable stream at its position', async () => {
  const signer = new Signer('test-secret');
  const sig = signer.sign(signer.key('made-by-us', 'ssp.counter', { count: 5, intervalMs: 0, size: 0 }), 2, Date.now() + 60_000);
  const { events, termination } = await drain(url, sig);
  expect(events.map((e) => e.seq)).toEqual([3, 4, 5]);
  expect(termination.last).toBe(5);
});

it('a verified signature of an unknown session of a non-resumable stream gets session-expired', async () => {
  const signer = new Signer('test-secret');
  const sig = signer.sign(signer.key('made-by-us-2', 'ssp.burst', { count: 5, size: 0 }), 2, Date.now() + 60_000);
  const r = await poll(url, sig, 0);
  expect(r.status).toBe(410);
  expect(r.json.code).toBe('session-expired');
});

it('restart with the same secret resumes a resumable stream without loss or duplicates', async () => {
  const { seen, sig } = await readThenStop('restart-secret');
  const second = await start({ conformance: true, secret: 'restart-secret', keepsTerminations: true });
  try {
    const { events, termination } = await drain(second.url, sig);
    seen.push(...events.map((e) => e.seq));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(termination).toMatchObject({ reason: 'complete', last: 12 });
  } finally {
    await second.close();
  }
});

it('SSP-SIGNATURE-13: close of a forgotten resumable session is the closed termination at its position, and is remembered', async () => {
  const { seen, sig } = await readThenStop('forgotten-close');
  const restarted = await start({ conformance: true, secret: 'forgotten-close', keepsTerminations: true });
  try {
    const closed = await close(restarted.url, sig);
    expect(closed.status).toBe(200);
    expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed', last: seen.at(-1), advice: { action: 'none' } });
    // Remembered: the signature that could have resumed the session now gets the same termination.
    const polled = await poll(restarted.url, sig, 0);
    expect(polled.text).toBe(closed.text);
    expect(restarted.handler.stats()).toMatchObject({ sessions: 0, tombstones: 1 });
  } finally {
    await restarted.close();
  }
});

describe('SSP-SIGNATURE-14: restart safety with events and terminations in memory', () => {
  const limits = { maxHoldMs: 300, idleTimeoutMs: 2000 };

  it('never brings back a session closed before a restart with the same secret: unavailable during the wait, then session-expired', async () => {
    // The reproducer: open ssp.counter {count: 3}, close, restart, poll with the open signature.
    const first = await start({ conformance: true, secret: 'restart-safety', limits });
    const sig = await open(first.url, 'ssp.counter', { count: 3 });
    expect((await close(first.url, sig)).json).toMatchObject({ type: 'termination', reason: 'closed' });
    await first.close();
    const second = await start({ conformance: true, secret: 'restart-safety', limits });
    try {
      const during = await poll(second.url, sig, 0);
      expect(during.status).toBe(503);
      expect(during.json).toMatchObject({ code: 'unavailable', retryable: true });
      // SSP-LIFETIME-7: the wait asked of a poll stays within half the idle lifetime.
      expect(during.json.retryAfterMs).toBeGreaterThan(0);
      expect(during.json.retryAfterMs).toBeLessThanOrEqual(limits.idleTimeoutMs / 2);
      expect(during.headers['retry-after']).toBe(String(Math.ceil(during.json.retryAfterMs / 1000)));
      expect((await close(second.url, sig)).json.code).toBe('unavailable');
      expect(second.handler.stats()).toMatchObject({ sessions: 0, tombstones: 0 });
      // New sessions are served meanwhile.
      const fresh = await open(second.url, 'ssp.counter', { count: 1 });
      expect((await drain(second.url, fresh)).events.map((e) => e.seq)).toEqual([1]);
      // Once the wait is over every signature from before the start has expired.
      await sleep(limits.idleTimeoutMs + limits.maxHoldMs + 100);
      const after = await poll(second.url, sig, 0);
      expect(after.status).toBe(410);
      expect(after.json.code).toBe('session-expired');
    } finally {
      await second.close();
    }
  });

  it('without a fixed secret there is nothing to guard: old signatures no longer verify', async () => {
    const first = await start({ conformance: true, limits });
    const sig = await open(first.url, 'ssp.counter', { count: 3 });
    await first.close();
    const second = await start({ conformance: true, limits });
    try {
      expect((await poll(second.url, sig, 0)).json.code).toBe('invalid-signature');
    } finally {
      await second.close();
    }
  });
});
