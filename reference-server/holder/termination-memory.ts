// Remembered terminations (SSP-TERMINATION-13): a session's termination is the answer to
// every signature of it for memoryMs, kept here and, with a durable log, in its session store,
// where other instances and a restart find it (spec §18.4). Plain and multiplexed sessions
// remember theirs alike.
import type { SessionStore } from '../event-log/session-store.ts';
import { isPromise } from '../event-log/types.ts';
import type { TimerHandle, TimerWheel } from './timer-wheel.ts';

export class TerminationMemory {
  readonly #tombstones = new Map<string, { body: string; timer: TimerHandle }>();
  /** Terminations being stored in an asynchronous durable log. */
  readonly #saving = new Map<string, Promise<void>>();

  constructor(
    readonly wheel: TimerWheel,
    readonly memoryMs: number,
    readonly store: SessionStore | undefined,
    /** Names the kind of session in the log's error messages. */
    readonly kind: string,
  ) {}

  get size(): number {
    return this.#tombstones.size;
  }

  body(id: string): string | undefined {
    return this.#tombstones.get(id)?.body;
  }

  /** This process's session ended: remembered here and in the log's store (settled by `stored`). */
  remember(id: string, body: string): void {
    this.keep(id, body);
    const stored = this.store?.rememberTermination(id, body, this.memoryMs);
    if (!isPromise(stored)) return;
    const saving = stored.then(
      () => {},
      (error: unknown) => console.error(`xanjax: could not store the termination of ${this.kind} in the event log: ${(error as Error).message}`),
    );
    this.#saving.set(id, saving);
    void saving.then(() => this.#saving.delete(id));
  }

  /** Settles once the termination of `id` is in the log (close answers after that). */
  stored(id: string): Promise<void> | undefined {
    return this.#saving.get(id);
  }

  /** Remembers a termination here only (one the log already has). */
  keep(id: string, body: string): void {
    const tombstone = {
      body,
      timer: this.wheel.schedule(Date.now() + this.memoryMs, {
        onTimer: () => {
          if (this.#tombstones.get(id) === tombstone) this.#tombstones.delete(id);
        },
      }),
    };
    this.#tombstones.set(id, tombstone);
  }

  clear(): void {
    for (const tombstone of this.#tombstones.values()) this.wheel.cancel(tombstone.timer);
    this.#tombstones.clear();
  }
}
