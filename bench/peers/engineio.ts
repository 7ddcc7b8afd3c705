// (b) engine.io with only its polling transport (EIO 4): each socket buffers packets until
// its pending GET takes them. Pings are pushed past the run, so every answer is data.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepIdleConnections } from '../keep-alive.ts';
import { Server } from 'engine.io';
import type { Socket } from 'engine.io';
import { Client } from 'undici';
import type { BenchEvent, Peer, PeerServer, PollResult } from '../types.ts';

const RECORD_SEPARATOR = '\x1e';

async function startServer({ holdMs }: { holdMs: number }): Promise<PeerServer> {
  const eio = new Server({ transports: ['polling'], allowUpgrades: false, pingInterval: 3_600_000, pingTimeout: 3_600_000, maxHttpBufferSize: 1e6 });
  const sockets = new Set<Socket>();
  eio.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const server = http.createServer((req, res) => eio.handleRequest(req, res));
  void holdMs; // engine.io holds a polling GET until data or the ping interval: no hold setting.
  keepIdleConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/engine.io/`,
    publish(event) {
      // engine.io has no broadcast: a message is sent per socket (the text is built once).
      const text = JSON.stringify(event);
      for (const socket of sockets) socket.send(text);
    },
    held() {
      let n = 0;
      for (const socket of sockets) if ((socket.transport as unknown as { writable: boolean }).writable) n++;
      return n;
    },
    async close() {
      eio.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export const engineio: Peer = {
  name: 'engine.io',
  startServer,
  session(url, origin) {
    const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
    const path = `${new URL(url).pathname}?EIO=4&transport=polling`;
    let sid = '';
    const get = async (query: string) => {
      const res = await client.request({ method: 'GET', path: `${path}${query}` });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`engine.io: ${res.statusCode} ${text}`);
      return text;
    };
    return {
      async open() {
        const handshake = await get('');
        sid = JSON.parse(handshake.slice(1)).sid;
      },
      async poll(): Promise<PollResult> {
        const text = await get(`&sid=${sid}`);
        const events: BenchEvent[] = [];
        for (const packet of text.split(RECORD_SEPARATOR)) {
          if (packet[0] === '4') events.push(JSON.parse(packet.slice(1)));
          else if (packet[0] === '1') throw new Error('engine.io: closed by the server');
        }
        return { events, gap: 0 };
      },
      close: () => client.destroy(),
    };
  },
};
