// Session limits: too-many-sessions. (Leaks: test/hostile/leaks.test.ts.)
import { expect, it } from 'vitest';
import { open, post, start } from './helpers.ts';

it('answers too-many-sessions (503, Retry-After, retryAfterMs) at the limit, and opens again once sessions go', async () => {
  const server = await start({ conformance: true, maxSessions: 3, retryAfterMs: 1500 });
  try {
    const sigs = [];
    for (let i = 0; i < 3; i++) sigs.push(await open(server.url, 'ssp.ticker', { intervalMs: 60000 }));
    const r = await post(server.url, { ssp: 1, type: 'open', stream: 'ssp.ticker' });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 'too-many-sessions', retryable: true, retryAfterMs: 1500 });
    expect(r.headers['retry-after']).toBe('2');
    await post(server.url, { ssp: 1, type: 'close', sig: sigs[0] });
    expect((await post(server.url, { ssp: 1, type: 'open', stream: 'ssp.ticker' })).status).toBe(200);
  } finally {
    await server.close();
  }
});
