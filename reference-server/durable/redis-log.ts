// The Redis log (`serve --log redis://HOST:PORT[/DB]`): channels are Redis Streams in the
// entry format of redis-format.ts, shared by every instance, so that a client whose polls
// land on different instances reads one sequence. Each instance keeps two connections, one
// for commands and one subscribed to the wake channels of the channels it reads: an append
// anywhere publishes once, and every instance reading that channel fetches the new entries
// once into its window (channel-window.ts), whatever the number of sessions reading it.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SspError } from '../errors.ts';
import type { Channel, ChannelOptions, ChannelWatcher, EventLog, ReadLimits, ReadResult, StreamEnd } from '../event-log/types.ts';
import { SerializedData } from '../event-log/types.ts';
import { ChannelWindow } from './channel-window.ts';
import { APPEND_AT_SCRIPT, APPEND_SCRIPT, END_SCRIPT, channelKeys, parseEntryId } from './redis-format.ts';
import type { ChannelKeys } from './redis-format.ts';
import { RedisSessionStore, instanceChannel } from './redis-state.ts';

export interface RedisLogOptions {
  /** retryAfterMs of `unavailable` answers while Redis is unreachable. Default 2000. */
  retryAfterMs?: number;
  /** How long a producer lease lasts without renewal (an instance's death is noticed within it). Default 5000. */
  leaseMs?: number;
  /** Where notices go (connection lost and back). Default: stderr. */
  notice?: (line: string) => void;
}

/** Appends refused while Redis is away are retried this often (in order, nothing dropped). */
const RETRY_MS = 250;

type Entry = [id: string, fields: string[]];

interface RedisCommands {
  xanjaxAppend(log: string, seq: string, wake: string, keep: number, ...jsons: string[]): Promise<number>;
  xanjaxAppendAt(log: string, seq: string, wake: string, keep: number, first: number, ...jsons: string[]): Promise<number>;
  xanjaxEnd(log: string, seq: string, wake: string, json: string): Promise<number>;
}

export type RedisClient = Redis & RedisCommands;

export class RedisEventLog implements EventLog {
  readonly sessions: RedisSessionStore;
  /** Names this instance (producer leases). */
  readonly instance = randomBytes(8).toString('hex');
  readonly #redis: RedisClient;
  readonly #subscriber: Redis;
  readonly #channels = new Map<string, Promise<RedisChannel>>();
  readonly #byWake = new Map<string, RedisChannel>();
  readonly #retryAfterMs: number;
  readonly #notice: (line: string) => void;
  #down = false;
  #closed = false;

  constructor(url: string, options: RedisLogOptions = {}) {
    this.#retryAfterMs = options.retryAfterMs ?? 2000;
    this.#notice = options.notice ?? ((line) => console.error(line));
    // No offline queue: while Redis is away a request fails at once (503 + Retry-After)
    // instead of hanging; the connection itself keeps retrying in the background.
    const connection = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (times: number) => Math.min(times * 100, 1000) };
    this.#redis = new Redis(url, connection) as RedisClient;
    this.#redis.defineCommand('xanjaxAppend', { numberOfKeys: 3, lua: APPEND_SCRIPT });
    this.#redis.defineCommand('xanjaxAppendAt', { numberOfKeys: 3, lua: APPEND_AT_SCRIPT });
    this.#redis.defineCommand('xanjaxEnd', { numberOfKeys: 3, lua: END_SCRIPT });
    this.#subscriber = new Redis(url, { ...connection, enableOfflineQueue: true });
    this.#redis.on('error', (error: Error) => this.#lost(error));
    this.#subscriber.on('error', () => {});
    this.#redis.on('ready', () => this.#back());
    // Wakes published while the subscriber was away are gone: every channel catches up.
    this.#subscriber.on('ready', () => {
      for (const channel of this.#byWake.values()) channel.catchUp();
    });
    this.sessions = new RedisSessionStore(this.#redis, this.instance, options.leaseMs ?? 5000, (error) => this.unavailable(error));
    const own = instanceChannel(this.instance);
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === own) this.sessions.remote(message);
      else void this.#byWake.get(channel)?.catchUp();
    });
    this.#subscriber.subscribe(own).catch(() => {});
  }

  /** Resolves once both connections are up (the server starts only then). */
  async ready(): Promise<void> {
    const up = (client: Redis) =>
      client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()));
    await Promise.all([up(this.#redis), up(this.#subscriber)]);
  }

  channel(name: string, options: ChannelOptions): Promise<RedisChannel> {
    if (this.#closed) return Promise.reject(this.unavailable(new Error('the event log is closed')));
    let opening = this.#channels.get(name);
    if (!opening) {
      const channel = new RedisChannel(this, this.#redis, name, channelKeys(name), options);
      opening = (async () => {
        this.#byWake.set(channel.keys.wake, channel);
        try {
          // Subscribe first: an append between the snapshot and the subscription still wakes us.
          await this.#subscriber.subscribe(channel.keys.wake);
          await channel.load(options.startAt);
          return channel;
        } catch (error) {
          this.#channels.delete(name);
          this.#byWake.delete(channel.keys.wake);
          this.#subscriber.unsubscribe(channel.keys.wake).catch(() => {});
          throw this.unavailable(error);
        }
      })();
      this.#channels.set(name, opening);
    }
    return opening;
  }

  async delete(name: string): Promise<void> {
    const opening = this.#channels.get(name);
    this.#channels.delete(name);
    const keys = channelKeys(name);
    this.#byWake.delete(keys.wake);
    if (opening) (await opening.catch(() => undefined))?.close();
    this.#subscriber.unsubscribe(keys.wake).catch(() => {});
    await this.#redis.del(keys.log, keys.seq).catch((error: unknown) => this.#notice(`xanjax: redis log: could not delete ${name}: ${(error as Error).message}`));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.sessions.close();
    for (const opening of this.#channels.values()) (await opening.catch(() => undefined))?.close();
    this.#channels.clear();
    this.#byWake.clear();
    await Promise.allSettled([this.#redis.quit(), this.#subscriber.quit()]);
    this.#redis.disconnect();
    this.#subscriber.disconnect();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The answer for a request that needs Redis while it is unreachable (retryable). */
  unavailable(error: unknown): SspError {
    if (error instanceof SspError) return error;
    this.#lost(error as Error);
    return new SspError('unavailable', `the event log (Redis) is not available: ${(error as Error).message}`, { retryAfterMs: this.#retryAfterMs });
  }

  #lost(error: Error): void {
    if (this.#down || this.#closed) return;
    this.#down = true;
    this.#notice(`xanjax: redis log: ${error.message}; answering unavailable until Redis is back`);
  }

  #back(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#notice('xanjax: redis log: connected again');
  }
}

export class RedisChannel implements Channel {
  readonly #window: ChannelWindow;
  /** Appends waiting for Redis, in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #catchingUp: Promise<void> | undefined;
  /** Number of this process's next append. */
  #next = 0;
  #again = false;
  #closed = false;

  constructor(
    readonly owner: RedisEventLog,
    readonly redis: RedisClient,
    readonly name: string,
    readonly keys: ChannelKeys,
    readonly options: ChannelOptions,
  ) {
    this.#window = new ChannelWindow(options.readers, options.retainEvents, 0);
  }

  get head(): number {
    return this.#window.head;
  }

  get ended(): StreamEnd | undefined {
    return this.#window.ended;
  }

  get readers(): number {
    return this.#window.watchers;
  }

  /** Reads the channel's retained events; a single channel created here starts at startAt. */
  async load(startAt: number): Promise<void> {
    if (this.options.readers === 'single' && startAt > 0) await this.redis.set(this.keys.seq, String(startAt), 'NX');
    const head = Number((await this.redis.get(this.keys.seq)) ?? '0');
    const from = Math.max(1, head - this.options.retainEvents + 1);
    this.#window.skipTo(from - 1);
    this.#apply((await this.redis.xrange(this.keys.log, `${from}-0`, '+')) as Entry[]);
    if (this.#window.head < head) this.#window.skipTo(head);
  }

  /**
   * Shared channels (topics) have any number of writers, so Redis numbers their events; a
   * failure is reported to the publisher (the event may or may not be in). A session's own
   * channel has one writer (its producer's lease holder): its appends are numbered here,
   * idempotent, and retried in order while Redis is away, so none is lost or doubled.
   */
  append(data: SerializedData): Promise<number> {
    if (this.options.readers === 'shared') return this.publish(data);
    // Numbered here, not from the window's head, which may still wait for an earlier append's catch-up.
    const seq = Math.max(this.#next, this.head + 1);
    this.#next = seq + 1;
    return this.#enqueue(async () => {
      await this.redis.xanjaxAppendAt(this.keys.log, this.keys.seq, this.keys.wake, this.options.retainEvents, seq, data.json);
      await this.catchUp();
      return seq;
    });
  }

  async publish(data: SerializedData): Promise<number> {
    let seq: number;
    try {
      seq = await this.redis.xanjaxAppend(this.keys.log, this.keys.seq, this.keys.wake, this.options.retainEvents, data.json);
    } catch (error) {
      throw this.owner.unavailable(error);
    }
    await this.catchUp();
    return seq;
  }

  end(end: StreamEnd): Promise<void> {
    return this.#enqueue(async () => {
      await this.redis.xanjaxEnd(this.keys.log, this.keys.seq, this.keys.wake, JSON.stringify(end));
      await this.catchUp();
      return this.head;
    }).then(() => {});
  }

  /**
   * Catches up first: a poll that lands here after another instance answered from a newer
   * view (or trimmed events) must not see an older one (no stale gap, no stale empty batch).
   * Concurrent reads share one fetch.
   */
  async read(position: number, limits: ReadLimits): Promise<ReadResult> {
    await this.catchUp();
    return this.#window.read(position, limits);
  }

  acknowledge(position: number): void {
    this.#window.acknowledge(position);
  }

  watch(watcher: ChannelWatcher): void {
    this.#window.watch(watcher);
  }

  unwatch(watcher: ChannelWatcher): void {
    this.#window.unwatch(watcher);
  }

  close(): void {
    this.#closed = true;
  }

  /** Fetches entries after the window's head (one fetch at a time; a wake during it fetches again). */
  catchUp(): Promise<void> {
    if (this.#catchingUp) {
      this.#again = true;
      return this.#catchingUp;
    }
    const run = async () => {
      do {
        this.#again = false;
        const before = this.#window.head;
        const ended = this.#window.ended;
        try {
          this.#apply((await this.redis.xrange(this.keys.log, `(${this.#window.head}-0`, '+')) as Entry[]);
        } catch {
          // Redis is away: the subscriber's reconnection catches up again.
          return;
        }
        if (this.#window.head !== before || this.#window.ended !== ended) this.#window.notify();
      } while (this.#again && !this.#closed);
    };
    this.#catchingUp = run().finally(() => (this.#catchingUp = undefined));
    return this.#catchingUp;
  }

  #apply(entries: Entry[]): void {
    for (const [id, fields] of entries) {
      const { seq, end } = parseEntryId(id);
      const value = fields[1];
      if (end) this.#window.setEnded(JSON.parse(value) as StreamEnd);
      else if (seq > this.#window.head) this.#window.put(seq, new SerializedData(value, Buffer.byteLength(value)));
    }
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
