// The async iterator's buffer. Bounded by backpressure rather than by dropping: the
// subscription asks `room()` before each poll and does not poll while `highWaterMark`
// events wait, so at most highWaterMark - 1 + one batch (limits.maxBatchEvents) are held.

export class EventQueue<T> {
  readonly highWaterMark: number;
  #items: T[] = [];
  #reader: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  #roomWaiters = new Set<() => void>();
  #done = false;
  #error: { value: unknown } | undefined;

  constructor(highWaterMark: number) {
    this.highWaterMark = highWaterMark;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#done) return;
    if (this.#reader) {
      this.#take().resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
  }

  /** No more items: the reader gets the buffered ones, then `done`. */
  end(): void {
    this.#finish(undefined);
  }

  /** No more items: the reader gets the buffered ones, then `error` is thrown. */
  fail(error: unknown): void {
    this.#finish({ value: error });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#reader) return Promise.reject(new TypeError('next() called while a previous next() is pending'));
    if (this.#items.length > 0) {
      const value = this.#items.shift() as T;
      this.#wakeRoomWaiters();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) return Promise.reject(this.#error.value);
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /** Resolves once fewer than `highWaterMark` items wait (at once if so already). */
  room(signal: AbortSignal): Promise<void> {
    if (this.#items.length < this.highWaterMark) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#roomWaiters.delete(wake);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#roomWaiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #finish(error: { value: unknown } | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    if (this.#reader) {
      const reader = this.#take();
      if (error) reader.reject(error.value);
      else reader.resolve({ value: undefined, done: true });
    }
  }

  #take() {
    const reader = this.#reader!;
    this.#reader = undefined;
    return reader;
  }

  #wakeRoomWaiters(): void {
    if (this.#items.length >= this.highWaterMark) return;
    for (const wake of this.#roomWaiters) wake();
    this.#roomWaiters.clear();
  }
}
