// One undici Agent per run, shared by every check: many long polls are held open at once
// (several per check, up to --concurrency checks), so the per-origin connection pool must
// be large, and kept alive so short requests do not pay a handshake each.
import { Agent } from 'undici';

export function createAgent(): Agent {
  return new Agent({
    connections: 256,
    keepAliveTimeout: 4_000,
    // Every request carries its own abort signal derived from the server's limits
    // (timing.ts), so undici's fixed 300 s timeouts would only get in the way.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}
