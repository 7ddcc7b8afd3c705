// SSP-TRANSPORT-9 needs a request whose body never finishes: the server must answer 413
// once maxBodyBytes + 1 bytes arrived, without waiting for the rest. The context's
// requests always send whole bodies, so this one exchange is written on a socket directly.
import type { CheckContext } from '../check.ts';
import { requestHead, socketExchange, type SocketAnswer } from './raw-socket.ts';

/**
 * POST a body announced as `declared` bytes but send only `sent` of them, then wait up to
 * `waitMs` for the answer (null if none came: the server waited for the rest).
 */
export function postPartialBody(ctx: CheckContext, sent: string, declared: number, waitMs: number): Promise<SocketAnswer | null> {
  const headers = { 'content-type': 'application/json', 'content-length': String(declared) };
  const request = { method: 'POST', url: ctx.endpoint.href, headers: { ...ctx.headers, ...headers }, body: `${sent.slice(0, 200)}… (${sent.length} of ${declared} bytes sent, the rest withheld)` };
  return socketExchange(ctx, [requestHead(ctx, 'POST', headers), sent], waitMs, request);
}
