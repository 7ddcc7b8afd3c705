// subscribe() for pages: bound to the page's fetch, looked up on each request rather than
// captured so a page that wraps fetch later is honoured, and closed when the page is hidden.
import type { StreamParams } from '../schemas/types.gen.ts';
import { createSubscribe } from './core.ts';
import type { Subscription, SubscribeOptions } from './core.ts';
import { closeOnPageHide } from './page-hide.ts';

export interface BrowserSubscribeOptions extends SubscribeOptions {
  /** Close the subscription on the page's `pagehide` (SSP-CLIENT-14). Default true. */
  closeOnPageHide?: boolean | undefined;
}

const subscribeWithPageFetch = createSubscribe((url, init) => globalThis.fetch(url, init));

export function subscribe(endpoint: string, stream: string, params: StreamParams = {}, options: BrowserSubscribeOptions = {}): Subscription {
  const { closeOnPageHide: closeWithPage = true, ...subscribeOptions } = options;
  const subscription = subscribeWithPageFetch(endpoint, stream, params, subscribeOptions);
  if (closeWithPage) closeOnPageHide(subscription);
  return subscription;
}
