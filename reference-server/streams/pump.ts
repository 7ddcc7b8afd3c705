// Runs one producer into one event log: the only code that touches both, and it touches
// the producer only through its generator and the log only through the EventLog interface.
import type { EventLog } from '../event-log/types.ts';
import { SerializedData } from '../event-log/types.ts';
import type { RegisteredStream } from './registry.ts';
import { StreamError } from './types.ts';

export interface RunningProducer {
  /** Aborts the producer (close, expiry, shutdown). */
  stop(): void;
  /** Settles once the producer has finished (after stop: once it has released everything). */
  readonly done: Promise<void>;
}

export function startProducer(stream: RegisteredStream, params: Record<string, unknown>, log: EventLog, from: number): RunningProducer {
  const controller = new AbortController();
  const { signal } = controller;
  stream.active++;
  const done = (async () => {
    try {
      for await (const value of stream.definition.produce(params, { signal, from })) {
        if (signal.aborted) break;
        log.append(SerializedData.of(value));
      }
      if (!signal.aborted) log.end({ reason: 'complete' });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof StreamError) {
        log.end({ reason: 'error', error: { message: error.message, ...(error.code !== undefined && { code: error.code }) }, advice: error.advice });
      } else {
        log.end({ reason: 'error', error: { message: error instanceof Error ? error.message : String(error) }, advice: 'reopen' });
      }
    } finally {
      stream.active--;
    }
  })();
  return { stop: () => controller.abort(), done };
}
