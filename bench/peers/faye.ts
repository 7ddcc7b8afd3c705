// (c) faye: Bayeux long-polling. Sessions handshake, subscribe to /bench, then loop on
// /meta/connect; the server queues messages per client until its connect takes them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepIdleConnections } from '../keep-alive.ts';
import faye from 'faye';
import { Client } from 'undici';
import type { BenchEvent, Peer, PeerServer, PollResult } from '../types.ts';

interface BayeuxMessage {
  channel: string;
  clientId?: string;
  successful?: boolean;
  data?: BenchEvent;
  [key: string]: unknown;
}

async function startServer({ holdMs }: { holdMs: number }): Promise<PeerServer> {
  const bayeux = new faye.NodeAdapter({ mount: '/faye', timeout: holdMs / 1000 });
  // Held connects, counted as faye sees them: a /meta/connect in, until its reply goes out.
  let held = 0;
  bayeux.addExtension({
    incoming(message: BayeuxMessage, callback: (m: BayeuxMessage) => void) {
      if (message.channel === '/meta/connect') held++;
      callback(message);
    },
    outgoing(message: BayeuxMessage, callback: (m: BayeuxMessage) => void) {
      if (message.channel === '/meta/connect') held--;
      callback(message);
    },
  });
  const server = http.createServer();
  bayeux.attach(server);
  const publisher = bayeux.getClient();
  keepIdleConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/faye`,
    publish: (event) => void publisher.publish('/bench', event),
    held: () => held,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const fayePeer: Peer = {
  name: 'faye',
  startServer,
  session(url, origin) {
    const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
    const path = new URL(url).pathname;
    let clientId = '';
    let id = 0;
    const send = async (message: Record<string, unknown>): Promise<BayeuxMessage[]> => {
      const body = JSON.stringify([{ ...message, id: String(++id), ...(clientId && { clientId }) }]);
      const res = await client.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`faye: ${res.statusCode} ${text}`);
      return JSON.parse(text) as BayeuxMessage[];
    };
    const dataOf = (messages: BayeuxMessage[]) => messages.filter((m) => m.channel === '/bench' && m.data).map((m) => m.data as BenchEvent);
    let pending: BenchEvent[] = [];
    return {
      async open() {
        const [hello] = await send({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] });
        clientId = hello.clientId as string;
        const subscribed = await send({ channel: '/meta/subscribe', subscription: '/bench' });
        if (!subscribed.some((m) => m.channel === '/meta/subscribe' && m.successful)) throw new Error('faye: subscribe failed');
        pending = dataOf(subscribed);
      },
      async poll(): Promise<PollResult> {
        const messages = await send({ channel: '/meta/connect', connectionType: 'long-polling' });
        const reply = messages.find((m) => m.channel === '/meta/connect');
        if (reply && !reply.successful) throw new Error(`faye: connect failed: ${JSON.stringify(reply)}`);
        const events = [...pending, ...dataOf(messages)];
        pending = [];
        return { events, gap: 0 };
      },
      close: () => client.destroy(),
    };
  },
};
