// A subscription's options with their defaults filled in (§16), and how its requests are made.
import { defaultRetryOptions } from './retry.ts';
import type { RetryOptions } from './retry.ts';
import type { SubscribeOptions } from './subscription-types.ts';
import type { RequestSettings } from './transport.ts';

export type Settings = {
  [K in Exclude<keyof SubscribeOptions, 'holdMs' | 'signal' | 'retry' | 'headers' | 'credentials' | 'renewCredentials' | 'multiplex'>]-?: Exclude<SubscribeOptions[K], undefined>;
} & { holdMs?: number | undefined; retry: RetryOptions; renewCredentials: SubscribeOptions['renewCredentials'] };

export function subscriptionSettings(options: SubscribeOptions): Settings {
  return {
    holdMs: options.holdMs,
    retry: { ...defaultRetryOptions, ...options.retry },
    // SSP-CLIENT-9: after an empty batch, no poll earlier than 1 s after the answered one was sent.
    minPollIntervalMs: options.minPollIntervalMs ?? 1_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    highWaterMark: options.highWaterMark ?? 100,
    gaps: options.gaps ?? 'fail',
    discovery: options.discovery ?? true,
    random: options.random ?? Math.random,
    renewCredentials: options.renewCredentials,
  };
}

/** Headers (fresh for every request, so renewed credentials are sent) and fetch's credentials mode. */
export function requestSettings({ headers, credentials }: SubscribeOptions): RequestSettings {
  return {
    headers: () => (typeof headers === 'function' ? headers() : { ...headers }),
    init: credentials === undefined ? {} : { credentials },
  };
}
