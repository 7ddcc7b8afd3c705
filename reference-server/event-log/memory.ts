// In-memory event log: a map of channels, each an array of events (data serialized once)
// with a moving start index. Everything is synchronous: reads return plain values.
import type {
  Channel,
  ChannelOptions,
  ChannelReaders,
  ChannelWatcher,
  EventLog,
  ReadLimits,
  ReadResult,
  SerializedData,
  StoredEvent,
  StreamEnd,
} from './types.ts';
import { eventWireBytes } from './types.ts';

/** Compact the array once this many evicted slots sit before the start (and they are half of it). */
const COMPACT_AFTER = 64;

export class MemoryChannel implements Channel {
  #events: StoredEvent[] = [];
  #start = 0;
  #head: number;
  #acknowledged: number;
  #ended: StreamEnd | undefined;
  readonly #watchers = new Set<ChannelWatcher>();
  #closed = false;
  readonly #retain: number;
  readonly #readers: ChannelReaders;

  constructor(
    readonly name: string,
    options: ChannelOptions,
  ) {
    this.#retain = Math.max(1, options.retainEvents);
    this.#readers = options.readers;
    this.#head = options.startAt;
    this.#acknowledged = options.startAt;
  }

  get head(): number {
    return this.#head;
  }

  get ended(): StreamEnd | undefined {
    return this.#ended;
  }

  get readers(): number {
    return this.#watchers.size;
  }

  append(data: SerializedData): number {
    if (this.#closed || this.#ended) return this.#head;
    const seq = ++this.#head;
    this.#events.push({ seq, data });
    // Retention (spec §9): the newest retainEvents stay; older ones are evicted, which the
    // next read reports as a gap. Acknowledged events are the oldest, so they go first.
    if (this.#events.length - this.#start > this.#retain) this.#dropBefore(this.#head - this.#retain + 1);
    this.#notify();
    return seq;
  }

  end(end: StreamEnd): void {
    if (this.#closed || this.#ended) return;
    this.#ended = end;
    this.#notify();
  }

  read(position: number, limits: ReadLimits): ReadResult {
    const events = this.#events;
    const oldest = this.#start < events.length ? events[this.#start].seq : this.#head + 1;
    let from = position + 1;
    let gap: ReadResult['gap'];
    if (from < oldest) {
      gap = { from, to: oldest - 1 };
      from = oldest;
    }
    const base = limits.base ?? 0;
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

  acknowledge(position: number): void {
    if (this.#readers === 'shared' || position <= this.#acknowledged) return;
    // Keep the most recently acknowledged batch: a client re-sending its previous signature
    // (a retry racing its own poll) still gets re-delivery (spec §9), and memory stays
    // bounded by what is in flight rather than by retainEvents.
    this.#dropBefore(this.#acknowledged + 1);
    this.#acknowledged = Math.min(position, this.#head);
  }

  watch(watcher: ChannelWatcher): void {
    this.#watchers.add(watcher);
  }

  unwatch(watcher: ChannelWatcher): void {
    this.#watchers.delete(watcher);
  }

  /** Frees the events and watchers; later appends are ignored. */
  close(): void {
    this.#closed = true;
    this.#events = [];
    this.#start = 0;
    this.#watchers.clear();
  }

  /** Evicts every event with seq < seq. */
  #dropBefore(seq: number): void {
    const events = this.#events;
    if (this.#start < events.length) this.#start = Math.min(events.length, this.#start + Math.max(0, seq - events[this.#start].seq));
    if (this.#start >= COMPACT_AFTER && this.#start * 2 >= events.length) {
      this.#events = events.slice(this.#start);
      this.#start = 0;
    }
  }

  #notify(): void {
    for (const watcher of this.#watchers) watcher.onChannelChange();
  }
}

export class MemoryEventLog implements EventLog {
  readonly #channels = new Map<string, MemoryChannel>();

  channel(name: string, options: ChannelOptions): MemoryChannel {
    let channel = this.#channels.get(name);
    if (!channel) this.#channels.set(name, (channel = new MemoryChannel(name, options)));
    return channel;
  }

  delete(name: string): void {
    this.#channels.get(name)?.close();
    this.#channels.delete(name);
  }

  close(): void {
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
  }

  /** Channels held now (for leak tests). */
  get size(): number {
    return this.#channels.size;
  }
}

export const createMemoryEventLog = (): MemoryEventLog => new MemoryEventLog();
