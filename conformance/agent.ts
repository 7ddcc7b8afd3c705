// One undici Agent per run, shared by every check: many long polls are held open at once
// (several per check, up to --concurrency checks), so the per-origin connection pool must
// be large, and kept alive so short requests do not pay a handshake each. To an `https:`
// endpoint it offers HTTP/2 by ALPN (allowH2), as browsers do, and falls back to HTTP/1.1.
import { rootCertificates } from 'node:tls';
import { Agent } from 'undici';

export interface AgentOptions {
  /**
   * PEM certificate(s) to trust besides Node's bundled roots (a test CA, a self-signed server
   * certificate). Without it, Node's roots plus NODE_EXTRA_CA_CERTS are trusted.
   */
  ca?: string | Buffer | undefined;
}

export function createAgent(options: AgentOptions = {}): Agent {
  return new Agent({
    connections: 256,
    keepAliveTimeout: 4_000,
    // Every request carries its own abort signal derived from the server's limits
    // (timing.ts), so undici's fixed 300 s timeouts would only get in the way.
    headersTimeout: 0,
    bodyTimeout: 0,
    allowH2: true,
    // Held polls are concurrent streams of one HTTP/2 connection; a run holds many at once.
    maxConcurrentStreams: 1000,
    // tls.connect's `ca` replaces the default roots, so they are passed along.
    ...(options.ca !== undefined && { connect: { ca: [...rootCertificates, options.ca.toString()] } }),
  });
}
