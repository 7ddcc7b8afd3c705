// Every Node peer gets the same connection timeouts: on a starved machine the load generator
// may take seconds between an answer and its next poll, and Node's default 5 s keep-alive
// would then reset connections (seen as ECONNRESET in loaded runs) for some peers and not others.
import type { Server } from 'node:http';

export function keepIdleConnections(server: Server): void {
  server.keepAliveTimeout = 120_000;
}
