// Slow and greedy clients (spec §17.4): thousands of idle connections, header trickles and
// bodies that never finish, while a normal client is served within its hold; session caps
// answered with 503, Retry-After and retryAfterMs. Counts are printed; the assertions are on
// what each client got, never on time.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { framingServerOptions } from '../../reference-server/holder/framing.ts';
import { open, poll, post, start } from '../server/helpers.ts';

const IDLE_CONNECTIONS = 2000;
const TRICKLES = 100;

/**
 * Connects `count` sockets, 100 at a time: all at once would overflow the listen backlog,
 * and the kernel would then show the client connections the server never accepted.
 */
async function idleConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  while (sockets.length < count) {
    const batch = Math.min(100, count - sockets.length);
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', reject);
        })),
      )),
    );
  }
  return sockets;
}

it(`serves a normal client within its hold while ${IDLE_CONNECTIONS} idle connections and ${TRICKLES} trickling requests are open`, { timeout: 120_000 }, async () => {
  const headersTimeoutMs = 8000;
  const server = await start({ conformance: true, headersTimeoutMs, bodyTimeoutMs: headersTimeoutMs });
  const port = Number(new URL(server.url).port);
  const sockets: Socket[] = [];
  const trickles: NodeJS.Timeout[] = [];
  try {
    sockets.push(...(await idleConnections(port, IDLE_CONNECTIONS)));
    // Half trickle header bytes, half a body, one byte every 200 ms each.
    const tricklers = await idleConnections(port, TRICKLES);
    sockets.push(...tricklers);
    tricklers.forEach((socket, i) => {
      socket.on('error', () => {});
      socket.write(i % 2 === 0 ? 'GET /ssp HTTP/1.1\r\nHost: x\r\nX-Slow: ' : 'POST /ssp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      trickles.push(setInterval(() => socket.writable && socket.write(' '), 200));
    });
    // The normal client: a counter with an event every 100 ms, polled with the full hold.
    const { maxHoldMs } = server.handler.limits;
    let sig = await open(server.url, 'ssp.counter', { count: 5, intervalMs: 100 });
    const seen: number[] = [];
    let polls = 0;
    while (seen.length < 5 && polls < 20) {
      const r = await poll(server.url, sig, maxHoldMs);
      polls++;
      expect(r.status).toBe(200);
      if (r.json.type === 'termination') break;
      // Each poll is answered by an event, not by its hold running out.
      expect(r.json.events.length, `poll ${polls} came back empty: the hold ran out before an event 100 ms away was delivered`).toBeGreaterThan(0);
      seen.push(...r.json.events.map((e: { seq: number }) => e.seq));
      sig = r.json.sig;
    }
    console.log(`${IDLE_CONNECTIONS} idle + ${TRICKLES} trickling connections open: normal client got events ${seen.join(',')} in ${polls} polls`);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // Every slow connection is then cut at its deadline with 408 (idle ones included).
    const { connectionsCheckingInterval = 0 } = framingServerOptions({ headersTimeoutMs, bodyTimeoutMs: headersTimeoutMs });
    const answers = await Promise.all(
      sockets.map((socket) => new Promise<string>((resolve) => {
        let text = '';
        if (socket.destroyed) return resolve('destroyed');
        socket.on('data', (chunk) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text.slice(0, 12)));
        // Bounded: twice the header and body deadlines plus a checking interval.
        setTimeout(() => resolve(`open after ${2 * (2 * headersTimeoutMs + connectionsCheckingInterval)} ms`), 2 * (2 * headersTimeoutMs + connectionsCheckingInterval));
      })),
    );
    // Accepted by the server, every one of them (none left in the kernel's accept queue).
    const counts: Record<string, number> = {};
    for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
    console.log(`slow connections ended with: ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ 'HTTP/1.1 408': IDLE_CONNECTIONS + TRICKLES });
  } finally {
    trickles.forEach(clearInterval);
    sockets.forEach((socket) => socket.destroy());
    await server.close();
  }
});

it('caps sessions in total and per client with 503, Retry-After and retryAfterMs, under a concurrent rush', async () => {
  // Sessions must not expire during the rush (a slow machine): a long idle timeout.
  const limits = { idleTimeoutMs: 120_000 };
  const server = await start({ conformance: true, limits, maxSessions: 40, maxSessionsPerClient: 1000, retryAfterMs: 2500 });
  try {
    const rush = await Promise.all(Array.from({ length: 200 }, () => post(server.url, { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60_000 } })));
    const opened = rush.filter((r) => r.status === 200).length;
    const refused = rush.filter((r) => r.status === 503);
    console.log(`session rush: 200 opens, ${opened} sessions, ${refused.length} refused with 503`);
    expect(opened).toBe(40);
    expect(refused.length).toBe(160);
    for (const r of refused) {
      expect(r.json).toMatchObject({ type: 'error', code: 'too-many-sessions', retryable: true, retryAfterMs: 2500 });
      expect(r.headers['retry-after']).toBe('3');
    }
    expect(server.handler.stats().sessions).toBe(40);
  } finally {
    await server.close();
  }
  const perClient = await start({ conformance: true, limits, maxSessionsPerClient: 7 });
  try {
    const rush = await Promise.all(Array.from({ length: 30 }, () => post(perClient.url, { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60_000 } })));
    expect(rush.filter((r) => r.status === 200).length).toBe(7);
    expect(rush.filter((r) => r.status === 503 && r.json.code === 'too-many-sessions' && r.headers['retry-after'] !== undefined).length).toBe(23);
  } finally {
    await perClient.close();
  }
});
