// In-memory event log: an array of pre-serialized events with a moving start index.
import type { EventLog, EventLogOptions, ReadLimits, ReadResult, SerializedData, StoredEvent, StreamEnd } from './types.ts';

/** Compact the array once this many evicted slots sit before the start (and they are half of it). */
const COMPACT_AFTER = 64;

export class MemoryEventLog implements EventLog {
  #events: StoredEvent[] = [];
  #start = 0;
  #head: number;
  #acknowledged: number;
  #ended: StreamEnd | undefined;
  #listeners: Array<() => void> = [];
  #disposed = false;
  readonly #retain: number;

  constructor(options: EventLogOptions) {
    this.#retain = Math.max(1, options.retainEvents);
    this.#head = options.startAt;
    this.#acknowledged = options.startAt;
  }

  get head(): number {
    return this.#head;
  }

  get ended(): StreamEnd | undefined {
    return this.#ended;
  }

  append(data: SerializedData): number {
    if (this.#disposed || this.#ended) return this.#head;
    const seq = ++this.#head;
    const prefix = `{"seq":${seq},"data":`;
    // The prefix is ASCII, so its byte length is its string length.
    this.#events.push({ seq, json: `${prefix}${data.json}}`, bytes: prefix.length + data.bytes + 1 });
    // Retention (spec §9): the newest retainEvents stay; older ones are evicted, which the
    // next read reports as a gap. Acknowledged events are the oldest, so they go first.
    if (this.#events.length - this.#start > this.#retain) this.#dropBefore(this.#head - this.#retain + 1);
    this.#notify();
    return seq;
  }

  end(end: StreamEnd): void {
    if (this.#disposed || this.#ended) return;
    this.#ended = end;
    this.#notify();
  }

  read(position: number, limits: ReadLimits): ReadResult {
    const oldest = this.#start < this.#events.length ? this.#events[this.#start].seq : this.#head + 1;
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
      bytes += event.bytes + (events.length > 0 ? 1 : 0);
      if (events.length > 0 && bytes > limits.maxBytes) break;
      events.push(event);
    }
    return gap ? { events, gap } : { events };
  }

  acknowledge(position: number): void {
    if (position <= this.#acknowledged) return;
    // Keep the most recently acknowledged batch: a client re-sending its previous signature
    // (a retry racing its own poll) still gets re-delivery (spec §9), and memory stays
    // bounded by what is in flight rather than by retainEvents.
    this.#dropBefore(this.#acknowledged + 1);
    this.#acknowledged = Math.min(position, this.#head);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  dispose(): void {
    this.#disposed = true;
    this.#events = [];
    this.#start = 0;
    this.#listeners = [];
  }

  /** Evicts every event with seq < seq. */
  #dropBefore(seq: number): void {
    while (this.#start < this.#events.length && this.#events[this.#start].seq < seq) this.#start++;
    if (this.#start >= COMPACT_AFTER && this.#start * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#start);
      this.#start = 0;
    }
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

export const createMemoryEventLog = (options: EventLogOptions): EventLog => new MemoryEventLog(options);
