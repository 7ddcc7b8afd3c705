// subscribe() bound to the page's fetch, looked up on each request rather than captured so a
// page that wraps fetch later is honoured.
import { createSubscribe } from './core.ts';

export const subscribe = createSubscribe((url, init) => globalThis.fetch(url, init));
