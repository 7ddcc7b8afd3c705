// Who a request comes from, for the per-client session limit (SSP-SECURITY-6: "limit the
// number of concurrent sessions, in total and per client").
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/** Names the client of a request; requests with equal keys share one session allowance. */
export type ClientKey = (req: IncomingMessage | Http2ServerRequest) => string;

/** The default: the socket's peer address. Behind a proxy every client shares the proxy's. */
export const clientKeyFromSocket: ClientKey = (req) => req.socket.remoteAddress ?? '';

/**
 * The last X-Forwarded-For address, else the peer address: the address the nearest proxy
 * saw, which a client cannot choose (proxies append, so earlier entries are the client's
 * own words). Use it only behind exactly one proxy you trust; a client reaching the server
 * directly can still write the header itself.
 */
export const clientKeyFromForwardedFor: ClientKey = (req) => {
  const header = req.headers['x-forwarded-for'];
  const last = (Array.isArray(header) ? header.join(',') : header)?.split(',').at(-1)?.trim();
  return last || clientKeyFromSocket(req);
};
