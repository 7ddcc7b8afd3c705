// Signature attacks (spec §8, §17): every bit of a live signature flipped, every truncation,
// extensions, re-encodings, halves swapped between sessions, another secret, and replays after
// close and after expiry. Every forgery gets 403 invalid-signature and leaves the session
// untouched; a replay gets the remembered termination, then session-expired, never events.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { close, open, poll, post, sleep, start } from '../server/helpers.ts';

// Forgeries: sessions must outlive thousands of requests. Replays: short lifetimes.
// The least idle time the spec allows (SSP-DISCOVERY-8), so the replays after expiry come soon.
const limits = { maxHoldMs: 200, idleTimeoutMs: 2000, terminationMemoryMs: 2400 };
let server: SspServer;
let shortLived: SspServer;
let url: string;
beforeAll(async () => {
  server = await start({ conformance: true, secret: 'hostile-test-secret', limits: { idleTimeoutMs: 120_000 } });
  shortLived = await start({ conformance: true, secret: 'hostile-test-secret', limits });
  url = server.url;
});
afterAll(() => Promise.all([server.close(), shortLived.close()]));

/** Sends every forgery as a poll (hold 0), a few at a time; returns the answers that were not invalid-signature. */
async function rejectsAll(forgeries: string[]): Promise<string[]> {
  const wrong: string[] = [];
  for (let i = 0; i < forgeries.length; i += 32) {
    await Promise.all(
      forgeries.slice(i, i + 32).map(async (sig) => {
        const r = await poll(url, sig, 0);
        if (r.status !== 403 || r.json?.code !== 'invalid-signature') wrong.push(`${JSON.stringify(sig)} → ${r.status} ${r.text.slice(0, 100)}`);
      }),
    );
  }
  return wrong;
}

/** The session still delivers its events to its real signature. */
async function untouched(sig: string, count: number): Promise<void> {
  const r = await poll(url, sig, 0);
  expect(r.json.events.map((e: { seq: number }) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
}

it('every single bit flipped, in every character of the signature', async () => {
  const sig = await open(url, 'ssp.counter', { count: 2 });
  const forgeries: string[] = [];
  for (let i = 0; i < sig.length; i++) {
    for (let bit = 0; bit < 8; bit++) forgeries.push(sig.slice(0, i) + String.fromCharCode(sig.charCodeAt(i) ^ (1 << bit)) + sig.slice(i + 1));
  }
  const wrong = await rejectsAll(forgeries);
  console.log(`bit flips: ${forgeries.length} forgeries of a ${sig.length}-character signature, ${forgeries.length - wrong.length} rejected`);
  expect(wrong).toEqual([]);
  await untouched(sig, 2);
});

it('every truncation, and extensions', async () => {
  const sig = await open(url, 'ssp.counter', { count: 2 });
  const forgeries = [...Array.from({ length: sig.length }, (_, n) => sig.slice(0, n)), ...Array.from({ length: sig.length - 1 }, (_, n) => sig.slice(n + 1))];
  for (const tail of ['A', '.', '=', '==', '~', '-', '_', '.AAAA', sig]) forgeries.push(sig + tail);
  const wrong = await rejectsAll(forgeries);
  console.log(`truncations and extensions: ${forgeries.length} forgeries, ${forgeries.length - wrong.length} rejected`);
  expect(wrong).toEqual([]);
  await untouched(sig, 2);
});

it('re-encodings of the same bytes (standard base64, padding, case, hex)', async () => {
  const sig = await open(url, 'ssp.counter', { count: 2 });
  const dot = sig.lastIndexOf('.');
  const [payload, mac] = [sig.slice(0, dot), sig.slice(dot + 1)];
  const reencode = (text: string, encoding: BufferEncoding) => Buffer.from(text, 'base64url').toString(encoding);
  const forgeries = [
    `${reencode(payload, 'base64')}.${mac}`,
    `${payload}.${reencode(mac, 'base64')}`,
    `${payload}.${reencode(mac, 'hex')}`,
    `${payload}=.${mac}`,
    `${payload}.${mac}=`,
    `${payload.toLowerCase()}.${mac}`,
    `${payload}.${mac.toUpperCase()}`,
    `${Buffer.from(Buffer.from(payload, 'base64url').toString('utf8').replace(/\]$/, ' ]')).toString('base64url')}.${mac}`,
    `${payload}..${mac}`,
    ` ${sig}`,
    `${sig}\n`,
  ].filter((forgery) => forgery !== sig);
  const wrong = await rejectsAll(forgeries);
  console.log(`re-encodings: ${forgeries.length} forgeries, ${forgeries.length - wrong.length} rejected`);
  expect(wrong).toEqual([]);
  await untouched(sig, 2);
});

it('payload and MAC swapped between two sessions, and a signature from another secret', async () => {
  const [a, b] = [await open(url, 'ssp.counter', { count: 2 }), await open(url, 'ssp.counter', { count: 3 })];
  const split = (sig: string) => [sig.slice(0, sig.lastIndexOf('.')), sig.slice(sig.lastIndexOf('.') + 1)];
  const [[pa, ma], [pb, mb]] = [split(a), split(b)];
  const other = await start({ conformance: true, secret: 'another-secret' });
  let foreign: string;
  try {
    foreign = await open(other.url, 'ssp.counter', { count: 2 });
  } finally {
    await other.close();
  }
  const forgeries = [`${pa}.${mb}`, `${pb}.${ma}`, foreign, `${split(foreign)[0]}.${ma}`, `${pa}.${split(foreign)[1]}`];
  const wrong = await rejectsAll(forgeries);
  console.log(`swaps and foreign secret: ${forgeries.length} forgeries, ${forgeries.length - wrong.length} rejected`);
  expect(wrong).toEqual([]);
  await untouched(a, 2);
  await untouched(b, 3);
});

it('replays after close and after expiry get the termination, then session-expired, never events', async () => {
  const url = shortLived.url;
  // Resumable counters: a forgotten one could be re-created from a live signature (§8.4),
  // so these replays are the strongest case.
  const closed = await open(url, 'ssp.counter', { count: 5, intervalMs: 10_000 });
  const closing = await close(url, closed);
  expect(closing.json).toMatchObject({ type: 'termination', reason: 'closed' });
  const idle = await open(url, 'ssp.counter', { count: 5, intervalMs: 10_000 });
  const replays: Array<{ when: string; sig: string; status: number; type: string; reason?: string; code?: string }> = [];
  const replay = async (when: string, sig: string) => {
    for (const send of [(s: string) => poll(url, s, 0), (s: string) => close(url, s), (s: string) => post(url, { ssp: 1, type: 'poll', sig: s })]) {
      const r = await send(sig);
      replays.push({ when, sig: sig.slice(0, 12), status: r.status, type: r.json?.type, reason: r.json?.reason, code: r.json?.code });
    }
  };
  await replay('after close', closed);
  await sleep(limits.idleTimeoutMs + limits.maxHoldMs + 100);
  await replay('after expiry', idle);
  // Past termination memory (and so past every signature's validity, §8.3).
  await sleep(Math.max(limits.terminationMemoryMs, limits.idleTimeoutMs + limits.maxHoldMs) + 200);
  await replay('after termination memory, closed', closed);
  await replay('after termination memory, expired', idle);
  console.log(`replays: ${replays.length} (${replays.map((r) => `${r.when}: ${r.status} ${r.reason ?? r.code}`).join('; ')})`);
  for (const r of replays) {
    expect(r.type, JSON.stringify(r)).not.toBe('batch');
    if (r.when === 'after close') expect(r).toMatchObject({ status: 200, type: 'termination', reason: 'closed' });
    if (r.when === 'after expiry') expect(r).toMatchObject({ status: 200, type: 'termination', reason: 'expired' });
    if (r.when.startsWith('after termination memory')) expect(r).toMatchObject({ status: 410, code: 'session-expired' });
  }
});
