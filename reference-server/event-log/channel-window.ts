// The part of a channel kept in memory: the retained events (the newest `retainEvents`, minus
// what a single reader acknowledged), the head, the end, and the watchers to wake. The memory
// log's channel is this window and nothing else; the file log keeps the same window beside its
// segment files and answers reads from it without I/O. Both share WindowChannel below.
import type { ChannelReaders, ChannelWatcher, ReadLimits, ReadResult, SerializedData, StoredEvent, StreamEnd } from './types.ts';
import { eventWireBytes } from './types.ts';

/** Compact the array once this many evicted slots sit before the start (and they are half of it). */
const COMPACT_AFTER = 64;

export class ChannelWindow {
  #events: StoredEvent[] = [];
  #start = 0;
  #head: number;
  #acknowledged: number;
  #ended: StreamEnd | undefined;
  readonly #watchers = new Set<ChannelWatcher>();
  readonly #retain: number;
  /**
   * A shared channel's last read, answered again to the next reader at the same cursor and
   * limits until the window changes: after a publish, a topic's N sessions read the same
   * events, and N - 1 of them get this answer (readers do not change what a read returns).
   */
  #lastRead: { position: number; base: number; maxEvents: number; maxBytes: number; result: ReadResult } | undefined;

  constructor(
    readonly readers: ChannelReaders,
    retainEvents: number,
    startAt: number,
  ) {
    this.#retain = Math.max(1, retainEvents);
    this.#head = startAt;
    this.#acknowledged = startAt;
  }

  get head(): number {
    return this.#head;
  }

  get ended(): StreamEnd | undefined {
    return this.#ended;
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  /** Oldest retained seq (head + 1 when none is retained). */
  get oldest(): number {
    return this.#start < this.#events.length ? this.#events[this.#start].seq : this.#head + 1;
  }

  /** Adds event `seq` (which must be head + 1, or start the window after a gap) without waking anyone. */
  put(seq: number, data: SerializedData): void {
    if (seq <= this.#head && this.#events.length > this.#start) return;
    if (seq !== this.#head + 1) {
      // The window starts over after missing events (trimmed elsewhere): reads report the gap.
      this.#events = [];
      this.#start = 0;
    }
    this.#head = seq;
    this.#lastRead = undefined;
    this.#events.push({ seq, data });
    // Retention (spec §9): the newest retainEvents stay; older ones are evicted, which the
    // next read reports as a gap. Acknowledged events are the oldest, so they go first.
    if (this.#events.length - this.#start > this.#retain) this.#dropBefore(this.#head - this.#retain + 1);
  }

  setEnded(end: StreamEnd): void {
    this.#ended ??= end;
  }

  read(position: number, limits: ReadLimits): ReadResult {
    const base = limits.base ?? 0;
    const last = this.#lastRead;
    if (last && last.position === position && last.base === base && last.maxEvents === limits.maxEvents && last.maxBytes === limits.maxBytes) return last.result;
    const result = this.#read(position, base, limits);
    if (this.readers === 'shared') this.#lastRead = { position, base, maxEvents: limits.maxEvents, maxBytes: limits.maxBytes, result };
    return result;
  }

  #read(position: number, base: number, limits: ReadLimits): ReadResult {
    const events = this.#events;
    const oldest = this.oldest;
    let from = position + 1;
    let gap: ReadResult['gap'];
    if (from < oldest) {
      gap = { from, to: oldest - 1 };
      from = oldest;
    }
    const first = this.#start + (from - oldest);
    let end = first;
    let bytes = -1;
    // Seqs are consecutive from `oldest`, so the answer is one slice of the array.
    while (end < events.length && end - first < limits.maxEvents) {
      bytes += eventWireBytes(events[end], base) + 1;
      if (end > first && bytes > limits.maxBytes) break;
      end++;
    }
    const slice = end > first ? events.slice(first, end) : [];
    return gap ? { events: slice, gap } : { events: slice };
  }

  /**
   * Single reader: drop what it acknowledged, keeping the most recently acknowledged batch: a
   * client re-sending its previous signature (a retry racing its own poll) still gets
   * re-delivery (spec §9), and memory stays bounded by what is in flight rather than by
   * retainEvents. Returns the seq below which nothing is needed any more.
   */
  acknowledge(position: number): number | undefined {
    if (this.readers !== 'single' || position <= this.#acknowledged) return undefined;
    const keepFrom = this.#acknowledged + 1;
    this.#dropBefore(keepFrom);
    this.#acknowledged = Math.min(position, this.#head);
    return keepFrom;
  }

  watch(watcher: ChannelWatcher): void {
    this.#watchers.add(watcher);
  }

  unwatch(watcher: ChannelWatcher): void {
    this.#watchers.delete(watcher);
  }

  notify(): void {
    for (const watcher of this.#watchers) watcher.onChannelChange();
  }

  /** Frees the events and watchers. */
  clear(): void {
    this.#lastRead = undefined;
    this.#events = [];
    this.#start = 0;
    this.#watchers.clear();
  }

  /** Evicts every event with seq < seq. */
  #dropBefore(seq: number): void {
    this.#lastRead = undefined;
    const events = this.#events;
    if (this.#start < events.length) this.#start = Math.min(events.length, this.#start + Math.max(0, seq - events[this.#start].seq));
    if (this.#start >= COMPACT_AFTER && this.#start * 2 >= events.length) {
      this.#events = events.slice(this.#start);
      this.#start = 0;
    }
  }
}

/** A channel answered from its window: what the memory and file channels have in common. */
export abstract class WindowChannel {
  protected constructor(
    readonly name: string,
    protected readonly window: ChannelWindow,
  ) {}

  get head(): number {
    return this.window.head;
  }

  get ended(): StreamEnd | undefined {
    return this.window.ended;
  }

  get readers(): number {
    return this.window.watchers;
  }

  read(position: number, limits: ReadLimits): ReadResult {
    return this.window.read(position, limits);
  }

  watch(watcher: ChannelWatcher): void {
    this.window.watch(watcher);
  }

  unwatch(watcher: ChannelWatcher): void {
    this.window.unwatch(watcher);
  }
}
