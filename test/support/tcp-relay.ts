// A TCP relay on a free loopback port in front of another port, which a test can cut (every
// connection reset, new ones refused) and restore: a Redis that is unreachable for a while
// but keeps its data, as after a network failure. It can also stall the connections it has:
// they stay open but nothing more is forwarded (a peer that stopped answering without closing).
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { freePort } from './processes.ts';

export interface TcpRelay {
  readonly port: number;
  cut(): void;
  restore(): void;
  /** The connections open now forward nothing more, either way; new ones work (until cut). */
  stall(): void;
  /** Bytes the stalled connections received from their clients since they stalled (never forwarded). */
  readonly stalledBytes: number;
  stop(): Promise<void>;
}

interface Pair {
  stalled: boolean;
}

export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const pairs = new Set<Pair>();
  let open = true;
  let stalledBytes = 0;
  const server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    const pair: Pair = { stalled: false };
    pairs.add(pair);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (pair.stalled) stalledBytes += chunk.length;
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.stalled) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      open = true;
    },
    stall: () => {
      for (const pair of pairs) pair.stalled = true;
    },
    get stalledBytes() {
      return stalledBytes;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
