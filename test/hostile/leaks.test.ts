// Leak test (spec §18.5): rounds of thousands of sessions opened, polled and left to expire.
// After every round the heap (after a full GC), the open file descriptors and the timers
// return to their baseline. Figures are printed; the thresholds are on memory, never on time.
import { readdirSync } from 'node:fs';
import { getActiveResourcesInfo } from 'node:process';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { expect, it } from 'vitest';
import { sleep, start } from '../server/helpers.ts';

v8.setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const SESSIONS_PER_ROUND = 2000;
const ROUNDS = 3;
/** Heap growth allowed over all rounds: a leak of 500 bytes per session would exceed it. */
const HEAP_SLACK_BYTES = (SESSIONS_PER_ROUND * ROUNDS * 500) / 2;

function measure() {
  for (let i = 0; i < 3; i++) gc();
  return {
    heap: process.memoryUsage().heapUsed,
    fds: readdirSync('/proc/self/fd').length,
    timers: getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length,
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

it(`frees everything: ${ROUNDS} rounds of ${SESSIONS_PER_ROUND} sessions opened and expired, heap, fds and timers back to baseline`, { timeout: 300_000 }, async () => {
  // Idle long enough that a session outlives its own open-then-poll on a loaded machine.
  const limits = { maxHoldMs: 100, idleTimeoutMs: 5000, terminationMemoryMs: 500 };
  const server = await start({ conformance: true, limits, maxSessions: 10_000, maxSessionsPerClient: 10_000 });
  const post = async (pool: Pool, message: unknown) => {
    const res = await pool.request({ path: '/ssp', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
    return { status: res.statusCode, json: (await res.body.json()) as any };
  };
  const round = async () => {
    const pool = new Pool(new URL(server.url).origin, { connections: 16 });
    let opened = 0;
    for (let i = 0; i < SESSIONS_PER_ROUND; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const n = i + j;
        const [stream, params] = n % 3 === 0 ? ['ssp.ticker', { intervalMs: 60_000 }] : n % 3 === 1 ? ['ssp.counter', { count: 5, intervalMs: 10_000 }] : ['ssp.burst', { count: 60 }];
        const { status, json } = await post(pool, { ssp: 1, type: 'open', stream, params });
        expect(status).toBe(200);
        opened++;
        // Every other session is polled once: a log read, an acknowledgement, a new signature.
        if (n % 2 === 0) expect((await post(pool, { ssp: 1, type: 'poll', sig: json.sig, hold: 0 })).status).toBe(200);
      }));
    }
    await pool.close();
    // Expiry after idle, then forgotten after termination memory: wait until none is left.
    for (let waited = 0; waited < 60_000; waited += 100) {
      const { sessions, tombstones } = server.handler.stats();
      if (sessions === 0 && tombstones === 0) break;
      await sleep(100);
    }
    expect(server.handler.stats()).toEqual({ sessions: 0, heldPolls: 0, tombstones: 0, clients: 0, execProcesses: 0 });
    return opened;
  };
  try {
    await round(); // warm-up: code paths compiled, pools and caches at their steady size
    const baseline = measure();
    const figures = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const opened = await round();
      const after = measure();
      figures.push({ round: r, opened, heap: after.heap, fds: after.fds, timers: after.timers });
      console.log(`leak round ${r}: ${opened} sessions opened and expired; heap ${mb(after.heap)} (baseline ${mb(baseline.heap)}, ${after.heap >= baseline.heap ? '+' : ''}${mb(after.heap - baseline.heap)}), fds ${after.fds} (baseline ${baseline.fds}), timers ${after.timers} (baseline ${baseline.timers})`);
    }
    const last = figures.at(-1)!;
    expect(figures.every((f) => f.opened === SESSIONS_PER_ROUND)).toBe(true);
    expect(last.heap - baseline.heap, `heap grew by ${mb(last.heap - baseline.heap)} over ${ROUNDS} rounds (allowed ${mb(HEAP_SLACK_BYTES)})`).toBeLessThan(HEAP_SLACK_BYTES);
    expect(last.fds).toBeLessThanOrEqual(baseline.fds);
    expect(last.timers).toBeLessThanOrEqual(baseline.timers);
  } finally {
    await server.close();
  }
});
