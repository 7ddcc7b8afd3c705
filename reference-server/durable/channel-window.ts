// The part of a channel a process keeps in memory: the retained events (newest
// `retainEvents`, minus what a single reader acknowledged), the head, the end, and the
// watchers to wake. Durable channels (file, Redis) keep their copy on disk or in Redis and
// use this window to answer reads without I/O; it follows the memory log's retention rules.
import type { ChannelReaders, ChannelWatcher, ReadLimits, ReadResult, SerializedData, StoredEvent, StreamEnd } from '../event-log/types.ts';
import { eventWireBytes } from '../event-log/types.ts';

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
    this.#events.push({ seq, data });
    // Retention (spec §9): the newest retainEvents stay; older ones are evicted, which the
    // next read reports as a gap.
    if (this.#events.length - this.#start > this.#retain) this.#dropBefore(this.#head - this.#retain + 1);
  }

  /** Moves the head without an event (a channel whose events were all trimmed). */
  skipTo(head: number): void {
    if (head <= this.#head) return;
    this.#events = [];
    this.#start = 0;
    this.#head = head;
  }

  setEnded(end: StreamEnd): void {
    this.#ended ??= end;
  }

  read(position: number, limits: ReadLimits): ReadResult {
    const base = limits.base ?? 0;
    const oldest = this.oldest;
    let from = position + 1;
    let gap: ReadResult['gap'];
    if (from < oldest) {
      gap = { from, to: oldest - 1 };
      from = oldest;
    }
    const events: StoredEvent[] = [];
    let bytes = 0;
    for (let i = this.#start + (from - oldest); i < this.#events.length && events.length < limits.maxEvents; i++) {
      const event = this.#events[i];
      bytes += eventWireBytes(event, base) + (events.length > 0 ? 1 : 0);
      if (events.length > 0 && bytes > limits.maxBytes) break;
      events.push(event);
    }
    return gap ? { events, gap } : { events };
  }

  /**
   * Single reader: drop what it acknowledged, keeping the last acknowledged batch for a
   * re-sent signature (spec §9). Returns the seq below which nothing is needed any more.
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

  /** Evicts every event with seq < seq. */
  #dropBefore(seq: number): void {
    while (this.#start < this.#events.length && this.#events[this.#start].seq < seq) this.#start++;
    if (this.#start >= COMPACT_AFTER && this.#start * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#start);
      this.#start = 0;
    }
  }
}
