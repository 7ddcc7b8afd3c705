// The conformance annex streams, exactly as spec §20 defines them.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamDefinition } from './types.ts';
import { StreamError } from './types.ts';

const size = { type: 'integer', minimum: 0, maximum: 65536, default: 0 };
const count = { type: 'integer', minimum: 1, maximum: 10000 };
/**
 * §20.2: a `size` above 256 allows a `count` of at most 16, so the largest legal stream is
 * about 2.5 MB (10000 × 256) or 1 MiB (16 × 65536) of events, never 655 MB.
 */
const largeEventsFewOfThem = {
  if: { properties: { size: { minimum: 257 } }, required: ['size'] },
  then: { properties: { count: { maximum: 16 } } },
};

/** `{n, pad?}` where pad is size × "x" (omitted when size is 0). */
function padded(n: number, pad: string | undefined): { n: number; pad?: string } {
  return pad === undefined ? { n } : { n, pad };
}

const counter: StreamDefinition<{ count: number; intervalMs: number; size: number }> = {
  description: 'Annex: events {n, pad?} for n = 1..count, one every intervalMs (first after intervalMs), then complete. seq = n.',
  resumable: true,
  params: {
    type: 'object',
    properties: { count, intervalMs: { type: 'integer', minimum: 0, maximum: 10000, default: 0 }, size },
    required: ['count'],
    additionalProperties: false,
    ...largeEventsFewOfThem,
  },
  async *produce({ count, intervalMs, size }, { signal, from }) {
    const pad = size > 0 ? 'x'.repeat(size) : undefined;
    for (let n = from + 1; n <= count; n++) {
      if (intervalMs > 0) await sleep(intervalMs, undefined, { signal });
      yield padded(n, pad);
    }
  },
};

const ticker: StreamDefinition<{ intervalMs: number }> = {
  description: 'Annex: endless events {n, sentAt} (server epoch ms when appended), one every intervalMs.',
  resumable: true,
  params: {
    type: 'object',
    properties: { intervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 1000 } },
    additionalProperties: false,
  },
  async *produce({ intervalMs }, { signal, from }) {
    for (let n = from + 1; ; n++) {
      await sleep(intervalMs, undefined, { signal });
      yield { n, sentAt: Date.now() };
    }
  },
};

const burst: StreamDefinition<{ count: number; size: number }> = {
  description: 'Annex: all events {n, pad?} for n = 1..count appended at once when the session opens, then complete.',
  params: {
    type: 'object',
    properties: { count, size },
    required: ['count'],
    additionalProperties: false,
    ...largeEventsFewOfThem,
  },
  // SSP-ANNEX-20: re-created at position `from`, exactly the events a new session has after it.
  async *produce({ count, size }, { from }) {
    const pad = size > 0 ? 'x'.repeat(size) : undefined;
    for (let n = from + 1; n <= count; n++) yield padded(n, pad);
  },
};

const fail: StreamDefinition<{ after: number; message: string }> = {
  description: "Annex: `after` events {n}, then termination 'error' with error.message = message and advice none.",
  params: {
    type: 'object',
    properties: {
      after: { type: 'integer', minimum: 0, maximum: 1000, default: 0 },
      message: { type: 'string', minLength: 1, maxLength: 200, default: 'conformance failure' },
    },
    additionalProperties: false,
  },
  async *produce({ after, message }, { from }) {
    for (let n = from + 1; n <= after; n++) yield { n };
    throw new StreamError(message, { advice: 'none' });
  },
};

export const annexStreams: Record<string, StreamDefinition> = {
  'ssp.counter': counter,
  'ssp.ticker': ticker,
  'ssp.burst': burst,
  'ssp.fail': fail,
};
