// Node entry point: the client core bound to undici's fetch, through an Agent that offers
// HTTP/2 to `https:` endpoints (ALPN; HTTP/1.1 when the server declines), so every
// subscription to one origin shares one connection, as in a browser.
import { Agent, fetch } from 'undici';
import { createSubscribe } from './core.ts';
import type { Subscribe } from './core.ts';

// Certificates: Node's roots plus NODE_EXTRA_CA_CERTS (a test CA, a self-signed certificate).
// For other TLS settings, bind your own fetch with createSubscribe().
const dispatcher = new Agent({ allowH2: true });

const subscribeWithUndici = createSubscribe((url, init) => fetch(url, { ...init, dispatcher }));

/** subscribe() for Node. There is no page URL to resolve against: the endpoint must be absolute. */
export const subscribe: Subscribe = (endpoint, stream, params, options) => {
  // Thrown at once (TypeError) rather than retried as if the network had failed.
  if (!URL.canParse(endpoint)) throw new TypeError(`endpoint must be an absolute URL, not '${endpoint}'`);
  return subscribeWithUndici(endpoint, stream, params, options);
};

export * from './core.ts';
