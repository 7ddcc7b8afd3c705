// Shared by the client tests: short retry delays so fault schedules run in milliseconds.
import type { SspEvent, Subscription, SubscribeOptions } from '../../reference-client/node.ts';

export const fast: SubscribeOptions = {
  retry: { initialDelayMs: 5, maxDelayMs: 40, maxAttempts: 6, maxElapsedMs: 10_000 },
  minPollIntervalMs: 20,
  requestTimeoutMs: 5_000,
};

/** Every event the async iterator yields, and how the iteration ended. */
export async function drain(subscription: Subscription): Promise<{ seqs: number[]; events: SspEvent[]; error?: unknown }> {
  const events: SspEvent[] = [];
  try {
    for await (const event of subscription) events.push(event);
    return { seqs: events.map((e) => e.seq), events };
  } catch (error) {
    return { seqs: events.map((e) => e.seq), events, error };
  }
}

export const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Polls `condition` every 10 ms for at most 3 s; true if it came true. */
export async function until(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
}
