// (a) The practical limit for Node: a bare node:http loop with one shared array of events
// serialized once; a poll asks for the events after its cursor and is held until a publish
// releases every held poll (answers for one cursor are built once). No framework, no checks.
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepIdleConnections } from '../keep-alive.ts';
import { Client } from 'undici';
import type { Peer, PeerServer, PollResult } from '../types.ts';

interface Held {
  res: ServerResponse;
  after: number;
  since: number;
}

async function startServer({ holdMs, maxBatch }: { holdMs: number; maxBatch: number }): Promise<PeerServer> {
  const events: string[] = [];
  let held: Held[] = [];
  const answer = (res: ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const bodyAfter = (after: number) => `[${events.slice(after, after + maxBatch).join(',')}]`;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const after = Number(url.slice(url.indexOf('=') + 1)) || 0;
    if (after < events.length) return answer(res, bodyAfter(after));
    held.push({ res, after, since: Date.now() });
  });
  // One sweep a second ends expired holds with an empty answer.
  const sweep = setInterval(() => {
    const due = Date.now() - holdMs;
    const keep: Held[] = [];
    for (const h of held) {
      if (h.res.destroyed) continue;
      if (h.since <= due) answer(h.res, '[]');
      else keep.push(h);
    }
    held = keep;
  }, 1000);
  keepIdleConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/poll`,
    publish(event) {
      events.push(JSON.stringify(event));
      const release = held;
      held = [];
      const bodies = new Map<number, string>();
      for (const h of release) {
        let body = bodies.get(h.after);
        if (body === undefined) bodies.set(h.after, (body = bodyAfter(h.after)));
        answer(h.res, body);
      }
    },
    held: () => held.length,
    async close() {
      clearInterval(sweep);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const bare: Peer = {
  name: 'bare',
  startServer,
  session(url, origin) {
    const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
    const path = new URL(url).pathname;
    let after = 0;
    return {
      async open() {},
      async poll(): Promise<PollResult> {
        const res = await client.request({ method: 'GET', path: `${path}?after=${after}` });
        if (res.statusCode !== 200) throw new Error(`bare: ${res.statusCode}`);
        const events = (await res.body.json()) as PollResult['events'];
        after += events.length;
        return { events, gap: 0 };
      },
      close: () => client.destroy(),
    };
  },
};
