// Runs one producer into one channel of the event log: the only code that touches both, and
// it touches the producer only through its generator and the log only through the Channel
// interface. Asynchronous appends (file, Redis) are pipelined: at most MAX_IN_FLIGHT wait,
// in order, and every one is in before `ready`, the end, or a failure is reported.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Channel } from '../event-log/types.ts';
import { SerializedData, isPromise } from '../event-log/types.ts';
import type { RegisteredStream } from './registry.ts';
import { StreamError } from './types.ts';

/**
 * Longest a producer may run without giving the event loop back. A producer that yields
 * many values without waiting (ssp.burst, a user's backlog) is cut into slices of this
 * length, so other sessions' polls, timers and sockets are served in between.
 */
export const SLICE_MS = 5;

/**
 * Most values of a producer's first run that `ready` (and so the session answer) waits for:
 * a count, not a time, so a loaded machine answers the same as an idle one. The annex's
 * largest burst is 10000 events.
 */
export const READY_CAP_VALUES = 100_000;

/** A wait of the producer longer than this is its own (a timer, I/O), not our slicing. */
const WAITED_MS = 1;

/**
 * Most asynchronous appends (file, Redis) in flight at once: the producer runs on while they
 * are written (the log keeps their order and sends a burst in few round trips), and waits
 * for them beyond this.
 */
const MAX_IN_FLIGHT = 1024;

export interface RunningProducer {
  /** Aborts the producer (close, expiry, shutdown). */
  stop(): void;
  /** Settles once the producer has finished (after stop: once it has released everything). */
  readonly done: Promise<void>;
  /**
   * Resolves when the producer's first run is in the log: every value it had ready before
   * it first waited on its own (or ended, or READY_CAP_VALUES were appended). What a
   * stream appends "when the session is opened" (spec §20.4) is there before the answer.
   */
  readonly ready: Promise<void>;
}

export function startProducer(stream: RegisteredStream, params: Record<string, unknown>, channel: Channel, from: number): RunningProducer {
  const produce = stream.definition.produce;
  if (!produce) throw new TypeError(`stream '${stream.name}' has no producer`);
  const controller = new AbortController();
  const { signal } = controller;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  /** The newest append in flight (they complete in order), and the first failure among them. */
  let last: Promise<number> | undefined;
  let inFlight = 0;
  let failed: { error: unknown } | undefined;
  // Ready once what the first run appended is in the log.
  const markReady = () => {
    if (last) last.then(resolveReady, resolveReady);
    else resolveReady();
  };
  stream.active++;
  const done = (async () => {
    const iterator = produce(params, { signal, from })[Symbol.asyncIterator]();
    let firstRun = true;
    let appended = 0;
    try {
      let sliceStart = performance.now();
      for (;;) {
        // During the first run, a setImmediate that fires before the next value means a
        // macrotask turn passed: the producer waits on its own and its first run is over.
        let turned = false;
        const marker = firstRun
          ? setImmediate(() => {
              turned = true;
              firstRun = false;
              markReady();
            })
          : undefined;
        const asked = performance.now();
        const next = await iterator.next();
        if (marker) clearImmediate(marker);
        const now = performance.now();
        if (firstRun && (next.done || appended >= READY_CAP_VALUES)) {
          firstRun = false;
          markReady();
        }
        if (next.done || signal.aborted) break;
        if (turned || now - asked > WAITED_MS) sliceStart = now;
        const written = channel.append(SerializedData.of(next.value));
        if (isPromise(written)) {
          inFlight++;
          last = written;
          written.then(
            () => inFlight--,
            (error: unknown) => {
              inFlight--;
              failed ??= { error };
            },
          );
          if (inFlight >= MAX_IN_FLIGHT) await written.catch(() => {});
        }
        if (failed) throw failed.error;
        appended++;
        if (performance.now() - sliceStart > SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
      }
      if (last) await last.catch(() => {});
      if (failed) throw failed.error;
      if (!signal.aborted) await channel.end({ reason: 'complete' });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof StreamError) {
        await channel.end({ reason: 'error', error: { message: error.message, ...(error.code !== undefined && { code: error.code }) }, advice: error.advice });
      } else {
        await channel.end({ reason: 'error', error: { message: error instanceof Error ? error.message : String(error) }, advice: 'reopen' });
      }
    } finally {
      markReady();
      // Stopped while suspended at a value: let the producer run its own cleanup.
      if (signal.aborted) await iterator.return?.(undefined).catch(() => {});
      stream.active--;
    }
  })().catch((error: unknown) => console.error(`xanjax: stream '${stream.name}' could not record its end:`, error));
  return { stop: () => controller.abort(), done, ready };
}
