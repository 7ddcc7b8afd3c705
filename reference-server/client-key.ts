// Who a request comes from, for the per-client session limit (SSP-SECURITY-6: "limit the
// number of concurrent sessions, in total and per client").
import type { IncomingMessage } from 'node:http';

/** Names the client of a request; requests with equal keys share one session allowance. */
export type ClientKey = (req: IncomingMessage) => string;

/** The default: the socket's peer address. Behind a proxy every client shares the proxy's. */
export const clientKeyFromSocket: ClientKey = (req) => req.socket.remoteAddress ?? '';

/** A peer on this machine: 127.0.0.0/8 or ::1 (also as IPv4-mapped IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Trusts X-Forwarded-For only from the given proxies: for a request whose peer is one of
 * them, the last X-Forwarded-For address (the one that proxy appended: proxies append, so
 * earlier entries are the client's own words); for any other peer, the peer address. So a
 * client that reaches the server directly, around the proxy, cannot choose its key, and a
 * proxy must append (nginx: `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`)
 * or the last entry would still be the client's.
 */
export function clientKeyFromProxies(isProxy: (peer: string) => boolean): ClientKey {
  return (req) => {
    const peer = clientKeyFromSocket(req);
    if (!isProxy(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const last = (Array.isArray(header) ? header.join(',') : header)?.split(',').at(-1)?.trim();
    return last || peer;
  };
}

/**
 * `--trust-proxy`: one proxy on the same machine (the usual nginx in front). Requests from
 * any other peer are keyed by their own address, whatever X-Forwarded-For they carry.
 */
export const clientKeyFromForwardedFor: ClientKey = clientKeyFromProxies(isLoopback);
