// SSP-SECURITY-7: signatures name their key, so a server given [new, previous] secrets signs
// with the new one and still accepts unexpired signatures made under the previous one.
import { expect, it } from 'vitest';
import { Signer } from '../../reference-server/signature.ts';
import { drain, open, poll, readThenStop, start } from './helpers.ts';

it('a session opened under secret A resumes without loss after a restart with [B, A], and is signed with B from then on', async () => {
  const { seen, sig } = await readThenStop('secret-a');
  // Resuming across the restart needs the terminations kept (SSP-SIGNATURE-14), as a durable log does.
  const rotated = await start({ conformance: true, secret: ['secret-b', 'secret-a'], keepsTerminations: true });
  try {
    const resumed = await poll(rotated.url, sig, 1000);
    expect(resumed.status).toBe(200);
    // New signatures verify under B alone, and no longer under A.
    expect(new Signer('secret-b').verify(resumed.json.sig).sessionId).toBe(new Signer('secret-a').verify(sig).sessionId);
    expect(() => new Signer('secret-a').verify(resumed.json.sig)).toThrow(expect.objectContaining({ code: 'invalid-signature' }));
    seen.push(...resumed.json.events.map((e: { seq: number }) => e.seq));
    const { events, termination } = await drain(rotated.url, resumed.json.sig);
    seen.push(...events.map((e) => e.seq));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(termination).toMatchObject({ reason: 'complete', last: 12 });
    expect(() => new Signer('secret-b').verify(termination.sig)).not.toThrow();
  } finally {
    await rotated.close();
  }
});

it('rejects a signature under a key the server does not hold with invalid-signature', async () => {
  const rotated = await start({ conformance: true, secret: ['secret-b', 'secret-a'], keepsTerminations: true });
  const other = await start({ conformance: true, secret: 'secret-c' });
  try {
    const foreign = await open(other.url, 'ssp.counter', { count: 2 });
    const r = await poll(rotated.url, foreign, 0);
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('invalid-signature');
    expect(r.json.message).toMatch(/another key/);
    // A signature naming a held key (A) but with a MAC made under another secret does not verify.
    const signer = new Signer('secret-a');
    const underA = signer.sign(signer.key('s', 'ssp.counter', { count: 2, intervalMs: 0, size: 0 }), 0, Date.now() + 60_000);
    const forged = `${underA.split('.')[0]}.${foreign.split('.')[1]}`;
    expect((await poll(rotated.url, forged, 0)).json.code).toBe('invalid-signature');
  } finally {
    await Promise.all([rotated.close(), other.close()]);
  }
});

it('needs at least one secret, and distinct ones', () => {
  expect(() => new Signer([])).toThrow(RangeError);
  expect(() => new Signer(['same', Buffer.from('same')])).toThrow(RangeError);
});
