// The server that carries the handler: plain HTTP/1.1 (node:http), or, with a certificate,
// TLS with HTTP/2 and HTTP/1.1 negotiated by ALPN (node:http2 with allowHTTP1). Browsers
// multiplex every request to an HTTP/2 origin over one connection, so held polls no longer
// take the six connections per host that HTTP/1.1 allows (spec §18.2).
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { handleClientErrors } from './holder/framing.ts';
import type { SspHandler } from './index.ts';

export interface TlsOptions {
  /** PEM certificate chain. */
  cert: string | Buffer;
  /** PEM private key. */
  key: string | Buffer;
}

export interface Listener {
  readonly server: http.Server | http2.Http2SecureServer;
  readonly scheme: 'http' | 'https';
  /** Stops accepting; lets in-flight answers finish, then cuts what is left after graceMs. */
  close(graceMs: number): Promise<void>;
}

/**
 * `framing`: node:http's header and request deadlines (holder/framing.ts); what its parser
 * rejects gets the spec's JSON error. HTTP/2 frames requests itself: its streams get an idle
 * timeout beyond the longest hold instead.
 */
export function createListener(handler: SspHandler, tls: TlsOptions | undefined, framing: http.ServerOptions): Listener {
  if (!tls) {
    const server = http.createServer(framing, handler);
    handleClientErrors(server);
    return {
      server,
      scheme: 'http',
      close: (graceMs) =>
        closeWithGrace(server, graceMs, () => server.closeIdleConnections(), () => server.closeAllConnections()),
    };
  }
  const server = http2.createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, handler);
  // HTTP/1.1 fallback connections are parsed by node:http's parser, which reports on this server.
  handleClientErrors(server as unknown as http.Server);
  // Neither a stream nor an HTTP/1.1 fallback connection may sit idle beyond the longest hold.
  server.setTimeout(handler.limits.maxHoldMs + 30_000);
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    server,
    scheme: 'https',
    close: (graceMs) =>
      closeWithGrace(
        server,
        graceMs,
        // GOAWAY: open streams (the shutdown answers) finish, no new ones start.
        () => {
          for (const session of sessions) session.close();
        },
        () => {
          for (const socket of sockets) (socket as Socket).destroy();
        },
      ),
  };
}

function closeWithGrace(server: http.Server | http2.Http2SecureServer, graceMs: number, soft: () => void, hard: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  soft();
  const cut = setTimeout(hard, graceMs);
  return closed.finally(() => clearTimeout(cut));
}
