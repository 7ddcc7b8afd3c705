// Node entry point: the client core bound to undici's fetch.
import { fetch } from 'undici';
import { createSubscribe } from './core.ts';
import type { Subscribe } from './core.ts';

const subscribeWithUndici = createSubscribe(fetch);

/** subscribe() for Node. There is no page URL to resolve against: the endpoint must be absolute. */
export const subscribe: Subscribe = (endpoint, stream, params, options) => {
  // Thrown at once (TypeError) rather than retried as if the network had failed.
  if (!URL.canParse(endpoint)) throw new TypeError(`endpoint must be an absolute URL, not '${endpoint}'`);
  return subscribeWithUndici(endpoint, stream, params, options);
};

export * from './core.ts';
