// (e) The reference server: one topic 'bench', each session a topic session; `--log` picks the
// event log (memory by default; see ../logs.ts for durable logs). With `topics` (the
// multiplexing scenario) it offers `bench-0` … and a publish goes to each of them.
import http from 'node:http';
import { Client } from 'undici';
import { createServer } from '../../reference-server/index.ts';
import { keepIdleConnections } from '../keep-alive.ts';
import { eventLogFor } from '../logs.ts';
import type { Peer, PeerOptions, PeerServer, PollResult } from '../types.ts';

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** The topics a server of these options offers, in order. */
export const topicNames = ({ topics }: PeerOptions): string[] => (topics === undefined ? ['bench'] : Array.from({ length: topics }, (_, i) => `bench-${i}`));

export async function startReference(options: PeerOptions): Promise<PeerServer> {
  const { holdMs, maxBatch, log } = options;
  const topics = topicNames(options);
  const eventLog = await eventLogFor(log ?? 'memory');
  const server = await createServer({
    port: 0,
    topics,
    // Retention large enough that the overload phase measures delivery, not eviction.
    limits: { maxHoldMs: holdMs, maxBatchEvents: maxBatch, maxBatchBytes: 1_000_000, retainEvents: 100_000, idleTimeoutMs: 120_000 },
    maxSessions: 100_000,
    maxSessionsPerClient: 100_000,
    ...(eventLog && { eventLog }),
  });
  // The bench serves plain HTTP (no tls option), so this is a node:http server.
  if (server.server instanceof http.Server) keepIdleConnections(server.server);
  return {
    url: server.url,
    publish: (event) => {
      for (const topic of topics) server.publish(topic, event);
    },
    held: () => server.handler.stats().heldPolls,
    close: () => server.close(),
  };
}

/** POSTs one SSP/1 message on the session's own connection; a non-200 answer rejects. */
export function poster(url: string, origin: string) {
  const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  const path = new URL(url).pathname;
  const post = async (message: unknown): Promise<Record<string, any>> => {
    const res = await client.request({ method: 'POST', path, headers: JSON_HEADERS, body: JSON.stringify(message) });
    const body = (await res.body.json()) as Record<string, any>;
    if (res.statusCode !== 200) throw new Error(`reference: ${res.statusCode} ${body.code} ${body.message}`);
    return body;
  };
  return { post, close: () => client.destroy() };
}

export const reference: Peer = {
  name: 'reference',
  startServer: startReference,
  session(url, origin, options, index) {
    const { post, close } = poster(url, origin);
    const topics = topicNames(options);
    let sig = '';
    return {
      async open() {
        sig = (await post({ ssp: 1, type: 'open', stream: topics[index % topics.length] })).sig;
      },
      async poll(): Promise<PollResult> {
        const batch = await post({ ssp: 1, type: 'poll', sig });
        if (batch.type !== 'batch') throw new Error(`reference: ${batch.type} ${batch.reason}`);
        sig = batch.sig;
        const gap = batch.gap ? batch.gap.to - batch.gap.from + 1 : 0;
        return { events: batch.events.map((e: { data: unknown }) => e.data), gap };
      },
      close,
    };
  },
};
