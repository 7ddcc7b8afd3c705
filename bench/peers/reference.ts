// (e) The reference server: one topic 'bench', each session a topic session; `--log` picks the
// event log (memory by default; see ../logs.ts for durable logs).
import { Client } from 'undici';
import { createServer } from '../../reference-server/index.ts';
import { keepIdleConnections } from '../keep-alive.ts';
import { eventLogFor } from '../logs.ts';
import type { Peer, PeerServer, PollResult } from '../types.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

async function startServer({ holdMs, maxBatch, log }: { holdMs: number; maxBatch: number; log?: string }): Promise<PeerServer> {
  const eventLog = await eventLogFor(log ?? 'memory');
  const server = await createServer({
    port: 0,
    topics: ['bench'],
    // Retention large enough that the overload phase measures delivery, not eviction.
    limits: { maxHoldMs: holdMs, maxBatchEvents: maxBatch, maxBatchBytes: 1_000_000, retainEvents: 100_000, idleTimeoutMs: 120_000 },
    maxSessions: 100_000,
    maxSessionsPerClient: 100_000,
    ...(eventLog && { eventLog }),
  });
  keepIdleConnections(server.server);
  return {
    url: server.url,
    publish: (event) => server.publish('bench', event),
    held: () => server.handler.stats().heldPolls,
    close: () => server.close(),
  };
}

export const reference: Peer = {
  name: 'reference',
  startServer,
  session(url, origin) {
    const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
    const path = new URL(url).pathname;
    let sig = '';
    const post = async (message: unknown) => {
      const res = await client.request({ method: 'POST', path, headers: JSON_HEADERS, body: JSON.stringify(message) });
      const body = (await res.body.json()) as Record<string, any>;
      if (res.statusCode !== 200) throw new Error(`reference: ${res.statusCode} ${body.code}`);
      return body;
    };
    return {
      async open() {
        sig = (await post({ ssp: 1, type: 'open', stream: 'bench' })).sig;
      },
      async poll(): Promise<PollResult> {
        const batch = await post({ ssp: 1, type: 'poll', sig });
        if (batch.type !== 'batch') throw new Error(`reference: ${batch.type} ${batch.reason}`);
        sig = batch.sig;
        const gap = batch.gap ? batch.gap.to - batch.gap.from + 1 : 0;
        return { events: batch.events.map((e: { data: unknown }) => e.data), gap };
      },
      close: () => client.destroy(),
    };
  },
};
