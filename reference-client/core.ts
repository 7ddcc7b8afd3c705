// The reference SSP/1 client core, shared by the browser and Node entry points: they differ
// in the fetch they bind (the browser's global fetch, undici's fetch in Node), and the browser
// entry also closes subscriptions with the page. Nothing here knows about pages.
import type { StreamParams } from '../schemas/types.gen.ts';
import { multiplexedFetch } from './multiplex.ts';
import { Subscription } from './subscription.ts';
import type { SubscribeOptions } from './subscription.ts';
import type { FetchLike } from './transport.ts';

export type Subscribe = (endpoint: string, stream: string, params?: StreamParams, options?: SubscribeOptions) => Subscription;

/**
 * Binds `subscribe(endpoint, stream, params?, options?)` to a fetch implementation. Subscriptions
 * to one endpoint share a multiplexed session when the server offers it (options.multiplex).
 */
export function createSubscribe(fetch: FetchLike): Subscribe {
  return (endpoint, stream, params = {}, options = {}) =>
    new Subscription(options.multiplex === false ? fetch : multiplexedFetch(fetch, endpoint), endpoint, stream, params, options);
}

export { Subscription };
export type { ReopenedNotice, RetryNotice, StreamRestartNotice, SubscribeOptions, SubscriptionEventMap, SubscriptionItem } from './subscription.ts';
export type { RetryOptions } from './retry.ts';
export type { FetchLike } from './transport.ts';
export * from './errors.ts';
export type { SspEvent, TerminationMessage } from '../schemas/types.gen.ts';
