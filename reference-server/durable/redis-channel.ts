// One channel of the Redis log (redis-log.ts): a Redis Stream read at any position by every
// instance. Reads come from the stream itself, concurrent reads of one range share one fetch;
// a session's own stream is appended in numbered, idempotent batches, a topic's numbered by
// Redis; wakes (appends anywhere) reach held polls through the log's subscriber.
import type { Redis } from 'ioredis';
import type { SspError } from '../errors.ts';
import type { Channel, ChannelOptions, ChannelWatcher, ReadLimits, ReadResult, StoredEvent, StreamEnd } from '../event-log/types.ts';
import { SerializedData, eventWireBytes } from '../event-log/types.ts';
import { parseEntryId } from './redis-format.ts';
import type { ChannelKeys } from './redis-format.ts';

/** Appends refused while Redis is away are retried this often (in order, nothing dropped). */
const RETRY_MS = 250;
/** Most events of a session's own stream sent in one append script (a producer's burst is pipelined). */
const MAX_APPEND_BATCH = 512;

type Entry = [id: string, fields: string[]];
type View = [head: number, first: Entry[], ended: Entry[], events: Entry[]];

interface RedisCommands {
  xanjaxAppend(log: string, seq: string, wake: string, keep: number, ...jsons: string[]): Promise<number>;
  xanjaxAppendAt(log: string, seq: string, wake: string, keep: number, first: number, ...jsons: string[]): Promise<number>;
  xanjaxEnd(log: string, seq: string, wake: string, json: string): Promise<number>;
  xanjaxRead(log: string, seq: string, from: number, count: number): Promise<View>;
  xanjaxAck(log: string, seq: string, ack: string, position: number): Promise<number>;
}

export type RedisClient = Redis & RedisCommands;

/** What a channel needs of its log: the typed answer while Redis is away, and whether it closed. */
export interface ChannelOwner {
  unavailable(error: unknown): SspError;
  readonly closed: boolean;
}

/** A fetch of the stream in flight, shared by the reads of the same range begun before the next wake. */
interface Fetch {
  wakes: number;
  view: Promise<{ head: number; oldest: number; ended: StreamEnd | undefined; events: StoredEvent[] }>;
}

/** Events of a session's own stream waiting to be sent in one append script. */
interface AppendBatch {
  first: number;
  jsons: string[];
  done: Promise<number>;
}

export class RedisChannel implements Channel {
  #head = 0;
  #ended: StreamEnd | undefined;
  readonly #watchers = new Set<ChannelWatcher>();
  /** Wakes seen: a fetch begun before the latest wake may miss what it announced. */
  #wakes = 0;
  readonly #fetches = new Map<string, Fetch>();
  /**
   * Heads this process's own appends announced and already woke its readers for, oldest
   * first: their echo on the wake channel has nothing new to read (without this, every append
   * made here woke each held poll twice, and each read the stream twice).
   */
  readonly #echoes: number[] = [];
  /** Appends waiting for Redis, in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #batch: AppendBatch | undefined;
  /** Number of this process's next append. */
  #next = 0;
  /** Highest position this process acknowledged (the stream's own record decides the trim). */
  #acknowledged = 0;
  #closed = false;

  constructor(
    readonly owner: ChannelOwner,
    readonly redis: RedisClient,
    readonly name: string,
    readonly keys: ChannelKeys,
    readonly options: ChannelOptions,
  ) {}

  get head(): number {
    return this.#head;
  }

  get ended(): StreamEnd | undefined {
    return this.#ended;
  }

  get readers(): number {
    return this.#watchers.size;
  }

  /** Reads the channel's head and end; a single channel created here starts at startAt. */
  async load(startAt: number): Promise<void> {
    if (this.options.readers === 'single' && startAt > 0) await this.redis.set(this.keys.seq, String(startAt), 'NX');
    await this.#fetch(0, 0);
  }

  /**
   * Shared channels (topics) have any number of writers, so Redis numbers their events; a
   * failure is reported to the publisher (the event may or may not be in). A session's own
   * channel has one writer (its producer's lease holder): its appends are numbered here,
   * idempotent, sent in batches (a burst is one script per MAX_APPEND_BATCH events), and
   * retried in order while Redis is away, so none is lost or doubled.
   */
  append(data: SerializedData): Promise<number> {
    if (this.options.readers === 'shared') return this.publish(data);
    // Numbered here, not from the head, which learns of earlier appends only once they are in.
    const seq = Math.max(this.#next, this.#head + 1);
    this.#next = seq + 1;
    let batch = this.#batch;
    if (!batch || batch.first + batch.jsons.length !== seq || batch.jsons.length >= MAX_APPEND_BATCH) {
      const open: AppendBatch = { first: seq, jsons: [], done: undefined as unknown as Promise<number> };
      open.done = this.#enqueue(async () => {
        // Sent: later appends start a new batch.
        if (this.#batch === open) this.#batch = undefined;
        const head = await this.redis.xanjaxAppendAt(this.keys.log, this.keys.seq, this.keys.wake, this.options.retainEvents, open.first, ...open.jsons);
        this.#advance(head);
        return head;
      });
      this.#batch = batch = open;
    }
    batch.jsons.push(data.json);
    return batch.done.then(() => seq);
  }

  async publish(data: SerializedData): Promise<number> {
    let seq: number;
    try {
      seq = await this.redis.xanjaxAppend(this.keys.log, this.keys.seq, this.keys.wake, this.options.retainEvents, data.json);
    } catch (error) {
      throw this.owner.unavailable(error);
    }
    this.#advance(seq);
    return seq;
  }

  end(end: StreamEnd): Promise<void> {
    return this.#enqueue(async () => {
      await this.redis.xanjaxEnd(this.keys.log, this.keys.seq, this.keys.wake, JSON.stringify(end));
      await this.#fetch(0, 0);
      this.#notify();
      return this.#head;
    }).then(() => {});
  }

  /** Events with seq > position, from the stream; a gap when its first retained entry is later (spec §9). */
  async read(position: number, limits: ReadLimits): Promise<ReadResult> {
    const view = await this.#fetch(position + 1, limits.maxEvents);
    const base = limits.base ?? 0;
    let from = position + 1;
    let gap: ReadResult['gap'];
    if (from < view.oldest) {
      gap = { from, to: view.oldest - 1 };
      from = view.oldest;
    }
    const events: StoredEvent[] = [];
    let bytes = 0;
    for (const event of view.events) {
      if (event.seq < from) continue;
      if (events.length >= limits.maxEvents) break;
      bytes += eventWireBytes(event, base) + (events.length > 0 ? 1 : 0);
      if (events.length > 0 && bytes > limits.maxBytes) break;
      events.push(event);
    }
    return gap ? { events, gap } : { events };
  }

  /** Single reader: the stream drops what is older than the previously acknowledged batch (ACK_SCRIPT). */
  acknowledge(position: number): void {
    if (this.options.readers !== 'single' || position <= this.#acknowledged) return;
    this.#acknowledged = position;
    // Not awaited: a later read on this connection runs after it; a lost one only keeps events longer.
    this.redis.xanjaxAck(this.keys.log, this.keys.seq, this.keys.ack, position).catch(() => {});
  }

  watch(watcher: ChannelWatcher): void {
    this.#watchers.add(watcher);
  }

  unwatch(watcher: ChannelWatcher): void {
    this.#watchers.delete(watcher);
  }

  close(): void {
    this.#closed = true;
    this.#watchers.clear();
  }

  /** The wake channel announced `head` (an append or an end anywhere): held polls read again. */
  woken(head: number): void {
    // Wakes arrive in publish order, so an echo older than `head` will not come (the
    // subscriber was away; refresh caught up then).
    while (this.#echoes.length > 0 && (this.#echoes[0] as number) < head) this.#echoes.shift();
    if (this.#echoes[0] === head) {
      this.#echoes.shift();
      return;
    }
    this.#wakes++;
    if (head > this.#head) this.#head = head;
    this.#notify();
  }

  /** After the subscriber reconnects (wakes may have been missed): re-read the head and end, wake everyone. */
  refresh(): void {
    this.#echoes.length = 0;
    this.#wakes++;
    this.#fetch(0, 0).then(
      () => this.#notify(),
      () => {},
    );
  }

  #advance(head: number): void {
    if (head <= this.#head) return;
    this.#head = head;
    this.#wakes++;
    // Its echo may be skipped only if no read is in flight: a read begun before this append
    // can still answer without it, and its poll then holds; the echo's wake reads again.
    if (this.#fetches.size === 0) this.#echoes.push(head);
    this.#notify();
  }

  #notify(): void {
    if (this.#closed) return;
    for (const watcher of this.#watchers) watcher.onChannelChange();
  }

  /** One view of the stream from event `from` (at most `count` events), shared by concurrent reads of that range. */
  #fetch(from: number, count: number): Fetch['view'] {
    const key = `${from}:${count}`;
    const shared = this.#fetches.get(key);
    if (shared && shared.wakes === this.#wakes) return shared.view;
    const view = (async () => {
      let reply: View;
      try {
        reply = await this.redis.xanjaxRead(this.keys.log, this.keys.seq, from, count);
      } catch (error) {
        throw this.owner.unavailable(error);
      }
      const [head, first, ended, entries] = reply;
      if (head > this.#head) this.#head = head;
      if (ended.length > 0) this.#ended ??= JSON.parse(ended[0][1][1]) as StreamEnd;
      const firstEvent = first.length > 0 && !parseEntryId(first[0][0]).end ? parseEntryId(first[0][0]).seq : head + 1;
      const events = entries.map(([id, fields]) => ({ seq: parseEntryId(id).seq, data: new SerializedData(fields[1], Buffer.byteLength(fields[1])) }));
      return { head, oldest: firstEvent, ended: this.#ended, events };
    })();
    const fetch: Fetch = { wakes: this.#wakes, view };
    this.#fetches.set(key, fetch);
    const done = () => {
      if (this.#fetches.get(key) === fetch) this.#fetches.delete(key);
    };
    view.then(done, done);
    return view;
  }

  #enqueue<T>(write: () => Promise<T>): Promise<T> {
    const attempt = async (): Promise<T> => {
      for (;;) {
        try {
          return await write();
        } catch (error) {
          if (this.#closed || this.owner.closed) throw this.owner.unavailable(error);
          this.owner.unavailable(error);
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    };
    const result = this.#queue.then(attempt);
    this.#queue = result.catch(() => {});
    return result;
  }
}
