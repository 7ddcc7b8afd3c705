// Session limits and leaks: too-many-sessions, and everything a session holds is freed.
import { getActiveResourcesInfo } from 'node:process';
import { expect, it } from 'vitest';
import { open, post, sleep, start } from './helpers.ts';

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

it('frees everything a few thousand abandoned sessions held once they expire', async () => {
  const limits = { maxHoldMs: 100, idleTimeoutMs: 2000, terminationMemoryMs: 500 };
  const server = await start({ conformance: true, limits, maxSessions: 5000, maxSessionsPerClient: 5000 });
  const timers = () => getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  try {
    const baseline = timers();
    const opens = [];
    for (let i = 0; i < 3000; i++) {
      const stream = i % 3 === 0 ? 'ssp.ticker' : 'ssp.counter';
      const params = i % 3 === 0 ? { intervalMs: 60000 } : { count: 5, intervalMs: 10000 };
      opens.push(open(server.url, stream, params));
      if (opens.length === 100) await Promise.all(opens.splice(0));
    }
    await Promise.all(opens);
    const peak = server.handler.stats();
    // Early sessions may have expired already on a slow machine, but none is forgotten yet.
    expect(peak.sessions + peak.tombstones).toBe(3000);
    expect(peak.clients).toBe(peak.sessions > 0 ? 1 : 0); // every session comes from 127.0.0.1
    expect(timers()).toBeGreaterThan(baseline + 1000); // the producers' interval timers
    // Expiry after idle (2000), then forgotten after max(500, idle + hold) = 2100 more.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const s = server.handler.stats();
      if (s.sessions === 0 && s.tombstones === 0) break;
      await sleep(100);
    }
    expect(server.handler.stats()).toEqual({ sessions: 0, heldPolls: 0, tombstones: 0, clients: 0, execProcesses: 0 });
    expect(timers()).toBeLessThanOrEqual(baseline + 5);
  } finally {
    await server.close();
  }
});
