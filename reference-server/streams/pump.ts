// Runs one producer into one channel of the event log: the only code that touches both, and
// it touches the producer only through its generator and the log only through the Channel
// interface. An asynchronous append (file, Redis) is awaited before the next value is pulled.
import type { Channel } from '../event-log/types.ts';
import { SerializedData, isPromise } from '../event-log/types.ts';
import type { RegisteredStream } from './registry.ts';
import { StreamError } from './types.ts';

export interface RunningProducer {
  /** Aborts the producer (close, expiry, shutdown). */
  stop(): void;
  /** Settles once the producer has finished (after stop: once it has released everything). */
  readonly done: Promise<void>;
}

export function startProducer(stream: RegisteredStream, params: Record<string, unknown>, channel: Channel, from: number): RunningProducer {
  const produce = stream.definition.produce;
  if (!produce) throw new TypeError(`stream '${stream.name}' has no producer`);
  const controller = new AbortController();
  const { signal } = controller;
  stream.active++;
  const done = (async () => {
    try {
      for await (const value of produce(params, { signal, from })) {
        if (signal.aborted) break;
        const appended = channel.append(SerializedData.of(value));
        if (isPromise(appended)) await appended;
      }
      if (!signal.aborted) await channel.end({ reason: 'complete' });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof StreamError) {
        await channel.end({ reason: 'error', error: { message: error.message, ...(error.code !== undefined && { code: error.code }) }, advice: error.advice });
      } else {
        await channel.end({ reason: 'error', error: { message: error instanceof Error ? error.message : String(error) }, advice: 'reopen' });
      }
    } finally {
      stream.active--;
    }
  })().catch((error: unknown) => console.error(`xanjax: stream '${stream.name}' could not record its end:`, error));
  return { stop: () => controller.abort(), done };
}
