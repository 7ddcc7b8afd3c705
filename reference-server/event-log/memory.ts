// In-memory event log: a map of channels, each a window of events (data serialized once,
// ./channel-window.ts). Everything is synchronous: reads return plain values.
import { ChannelWindow, WindowChannel } from './channel-window.ts';
import type { Channel, ChannelOptions, EventLog, SerializedData, StreamEnd } from './types.ts';

export class MemoryChannel extends WindowChannel implements Channel {
  #closed = false;

  constructor(name: string, options: ChannelOptions) {
    super(name, new ChannelWindow(options.readers, options.retainEvents, options.startAt));
  }

  append(data: SerializedData): number {
    if (this.#closed || this.window.ended) return this.window.head;
    const seq = this.window.head + 1;
    this.window.put(seq, data);
    this.window.notify();
    return seq;
  }

  end(end: StreamEnd): void {
    if (this.#closed || this.window.ended) return;
    this.window.setEnded(end);
    this.window.notify();
  }

  acknowledge(position: number): void {
    this.window.acknowledge(position);
  }

  /** Frees the events and watchers; later appends are ignored. */
  close(): void {
    this.#closed = true;
    this.window.clear();
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
