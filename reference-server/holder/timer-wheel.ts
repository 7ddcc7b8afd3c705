// One timer for every deadline the holder keeps (poll holds, batch delays, idle expiry,
// tombstones, body reads): deadlines are grouped into buckets of `resolution` ms, a min-heap
// orders the bucket ticks, and a single setTimeout is armed for the earliest one. Scheduling
// and cancelling are O(1) set operations (plus O(log n) when a new bucket appears), so ten
// thousand held polls cost one Node timer, not ten thousand. Ticks count from the wheel's
// creation, so they stay small integers (V8 Smis): an epoch-based tick (~1.8e11) would be a
// boxed heap number in every handle and every bucket key, ten thousand of them per 10,000
// held polls.

export interface TimerTarget {
  onTimer(): void;
}

export interface TimerHandle {
  readonly tick: number;
  readonly target: TimerTarget;
}

export class TimerWheel {
  /** Deadlines are rounded up to a multiple of this many ms. */
  readonly resolution: number;
  /** Epoch ms that tick 0 starts at. */
  readonly #origin = Date.now();
  readonly #buckets = new Map<number, Set<TimerHandle>>();
  readonly #ticks: number[] = [];
  #armedTick = Infinity;
  #timer: NodeJS.Timeout | undefined;

  constructor(resolution = 10) {
    this.resolution = resolution;
  }

  /** Calls target.onTimer() at or shortly after dueAt (epoch ms), never before. */
  schedule(dueAt: number, target: TimerTarget): TimerHandle {
    return this.scheduleTick(this.tickOf(dueAt), target);
  }

  /** Calls target.onTimer() once `tick` is reached. */
  scheduleTick(tick: number, target: TimerTarget): TimerHandle {
    const handle: TimerHandle = { tick, target };
    let bucket = this.#buckets.get(tick);
    if (!bucket) {
      bucket = new Set();
      this.#buckets.set(tick, bucket);
      this.#push(tick);
      if (tick < this.#armedTick) this.#arm(tick);
    }
    bucket.add(handle);
    return handle;
  }

  /** The tick of a deadline at dueAt (epoch ms): the first one that starts no earlier. */
  tickOf(dueAt: number): number {
    return Math.ceil((dueAt - this.#origin) / this.resolution);
  }

  /** True once `tick` has started: a deadline in it has passed. */
  reached(tick: number): boolean {
    return Math.floor((Date.now() - this.#origin) / this.resolution) >= tick;
  }

  cancel(handle: TimerHandle | undefined): void {
    if (handle) this.#buckets.get(handle.tick)?.delete(handle);
  }

  /** Number of pending deadlines (for stats and leak tests). */
  get size(): number {
    let n = 0;
    for (const bucket of this.#buckets.values()) n += bucket.size;
    return n;
  }

  /** Drops every deadline and the Node timer. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedTick = Infinity;
    this.#buckets.clear();
    this.#ticks.length = 0;
  }

  #arm(tick: number): void {
    clearTimeout(this.#timer);
    this.#armedTick = tick;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, this.#origin + tick * this.resolution - Date.now()));
    // Deadlines never keep the process alive on their own: the server's socket does.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedTick = Infinity;
    const now = Math.floor((Date.now() - this.#origin) / this.resolution);
    while (this.#ticks.length > 0 && this.#ticks[0] <= now) {
      const tick = this.#pop();
      const bucket = this.#buckets.get(tick);
      this.#buckets.delete(tick);
      if (!bucket) continue;
      for (const handle of bucket) {
        try {
          handle.target.onTimer();
        } catch (error) {
          // A failing target must not starve the others sharing its bucket, nor stop the server.
          console.error('xanjax: timer callback failed:', error);
        }
      }
    }
    if (this.#ticks.length > 0) this.#arm(this.#ticks[0]);
  }

  #push(tick: number): void {
    const heap = this.#ticks;
    let i = heap.push(tick) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= tick) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = tick;
  }

  #pop(): number {
    const heap = this.#ticks;
    const top = heap[0];
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const child = left + 1 < heap.length && heap[left + 1] < heap[left] ? left + 1 : left;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
