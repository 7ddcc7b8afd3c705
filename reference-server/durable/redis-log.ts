// The Redis log (`serve --log redis://HOST:PORT[/DB]`): channels are Redis Streams in the
// entry format of redis-format.ts, shared by every instance, so that a client whose polls
// land on different instances reads one sequence. Each instance keeps two connections, one
// for commands and one subscribed to the wake channels of the channels it reads: an append
// anywhere publishes once, and every instance reading that channel wakes its sessions.
// Reads go to the stream itself (READ_SCRIPT), never to a copy kept by one instance: positions,
// gaps and the end come from the shared stream, so every instance answers a position alike.
// Concurrent reads of one range (a topic's sessions woken together) share one fetch.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SspError } from '../errors.ts';
import type { ChannelOptions, EventLog } from '../event-log/types.ts';
import { ACK_SCRIPT, APPEND_AT_SCRIPT, APPEND_SCRIPT, END_SCRIPT, READ_SCRIPT, channelKeys } from './redis-format.ts';
import { RedisChannel } from './redis-channel.ts';
import type { RedisClient } from './redis-channel.ts';
import { shownLocation } from './log-url.ts';
import { RedisSessionStore, instanceChannel } from './redis-state.ts';

export interface RedisLogOptions {
  /** retryAfterMs of `unavailable` answers while Redis is unreachable. Default 2000. */
  retryAfterMs?: number;
  /** How long a producer lease lasts without renewal (an instance's death is noticed within it). Default 5000. */
  leaseMs?: number;
  /** Where notices go (connection lost and back). Default: stderr. */
  notice?: (line: string) => void;
  /**
   * Longest wait for any one Redis command: it then fails (`unavailable`), and its connection,
   * which may have stopped answering without closing, is dropped and reconnected. Default 10 000.
   */
  commandTimeoutMs?: number;
}

/** How often the event loop's own stalls are looked for (see #timedOut). */
const TICK_MS = 250;
/** A tick this late means this process itself was stalled (a starved machine), not Redis. */
const STALL_MS = 1000;

export class RedisEventLog implements EventLog {
  readonly sessions: RedisSessionStore;
  readonly location: string;
  /** Names this instance (producer leases). */
  readonly instance = randomBytes(8).toString('hex');
  readonly #redis: RedisClient;
  readonly #subscriber: Redis;
  readonly #channels = new Map<string, Promise<RedisChannel>>();
  readonly #byWake = new Map<string, RedisChannel>();
  readonly #retryAfterMs: number;
  readonly #notice: (line: string) => void;
  readonly #own: string;
  /** Resolves once the subscriber's channels were first subscribed. */
  readonly #subscribed: Promise<void>;
  #onSubscribed!: () => void;
  /** Pings the subscriber, which otherwise only listens: a connection gone silent is noticed. */
  readonly #heartbeat: NodeJS.Timeout;
  readonly #timeoutMs: number;
  /** Notes when this process's event loop last stalled (performance.now()). */
  readonly #ticker: NodeJS.Timeout;
  #lastTick = performance.now();
  #stalledAt = -Infinity;
  #down = false;
  #closed = false;

  constructor(url: string, options: RedisLogOptions = {}) {
    this.#retryAfterMs = options.retryAfterMs ?? 2000;
    this.location = shownLocation({ kind: 'redis', url }) as string;
    this.#notice = options.notice ?? ((line) => console.error(line));
    // Every wait on Redis is bounded, so a request is answered `unavailable` (503 + Retry-After)
    // promptly while Redis is away, and the connection keeps retrying in the background:
    // - no offline queue: a command issued while disconnected fails at once;
    // - maxRetriesPerRequest 0: a command already written when the connection drops fails with
    //   it. (With 1, ioredis keeps such commands to re-send after a reconnect, and its later
    //   flushes miss them: they waited for Redis to come back, however long, and a request
    //   issued just as the connection died hung with them. Re-sending could also run a topic
    //   append twice.)
    // - commandTimeout: a connection that stops answering without closing fails its commands,
    //   and #timedOut drops it. (Not ioredis's socketTimeout: in 5.x its timer outlives the
    //   connection it was armed for and destroys the next one, redis/ioredis#2147.)
    const timeout = options.commandTimeoutMs ?? 10_000;
    this.#timeoutMs = timeout;
    const connection = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: timeout,
      retryStrategy: (times: number) => Math.min(times * 100, 1000),
    };
    this.#redis = new Redis(url, connection) as RedisClient;
    this.#redis.defineCommand('xanjaxAppend', { numberOfKeys: 3, lua: APPEND_SCRIPT });
    this.#redis.defineCommand('xanjaxAppendAt', { numberOfKeys: 3, lua: APPEND_AT_SCRIPT });
    this.#redis.defineCommand('xanjaxEnd', { numberOfKeys: 3, lua: END_SCRIPT });
    this.#redis.defineCommand('xanjaxRead', { numberOfKeys: 2, lua: READ_SCRIPT });
    this.#redis.defineCommand('xanjaxAck', { numberOfKeys: 3, lua: ACK_SCRIPT });
    // Subscriptions are renewed by #subscribeAll on every (re)connection, not by ioredis, so
    // that the channels catch up only once they are subscribed again.
    this.#subscriber = new Redis(url, { ...connection, autoResubscribe: false });
    this.#redis.on('error', (error: Error) => this.#lost(error));
    this.#redis.on('close', () => this.#lost(new Error('connection closed')));
    this.#subscriber.on('error', () => {});
    this.#redis.on('ready', () => this.#back());
    this.#subscriber.on('ready', () => void this.#subscribeAll());
    this.sessions = new RedisSessionStore(this.#redis, this.instance, options.leaseMs ?? 5000, (error) => this.unavailable(error));
    this.#own = instanceChannel(this.instance);
    this.#subscribed = new Promise((resolve) => (this.#onSubscribed = resolve));
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#own) this.sessions.remote(message);
      else this.#byWake.get(channel)?.woken(Number(message));
    });
    // The subscriber only listens: a ping notices a connection gone silent, which is dropped
    // and reconnects (and resubscribes).
    this.#heartbeat = setInterval(() => {
      if (this.#subscriber.status === 'ready') this.#subscriber.ping().catch((error: Error) => this.#timedOut(this.#subscriber, error));
    }, timeout);
    this.#heartbeat.unref();
    // Timers run before the socket reads they were waiting for: after a stall of this process,
    // a command timeout fires though its answer has arrived. Such a timeout replaces no connection.
    this.#ticker = setInterval(() => {
      const now = performance.now();
      if (now - this.#lastTick > STALL_MS) this.#stalledAt = now;
      this.#lastTick = now;
    }, TICK_MS);
    this.#ticker.unref();
  }

  /** Resolves once both connections are up and subscribed (the server starts only then). */
  async ready(): Promise<void> {
    const up = (client: Redis) =>
      client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()));
    await Promise.all([up(this.#redis), this.#subscribed]);
  }

  /**
   * On every connection of the subscriber: subscribes this instance's channel and every open
   * channel's wake channel, then lets every channel catch up on the wakes published while it
   * was away (only now: a read before the subscription could miss an append made between the
   * two). A failed subscription drops the connection, which reconnects and comes back here.
   */
  async #subscribeAll(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#own, ...this.#byWake.keys());
    } catch {
      if (!this.#closed) this.#subscriber.disconnect(true);
      return;
    }
    this.#onSubscribed();
    this.#refreshAll();
  }

  #refreshAll(): void {
    for (const channel of this.#byWake.values()) channel.refresh();
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
    const keys = channelKeys(name);
    await this.release(name);
    await this.#redis.del(keys.log, keys.seq, keys.ack).catch((error: unknown) => this.#notice(`xanjax: redis log: could not delete ${name}: ${(error as Error).message}`));
  }

  async release(name: string): Promise<void> {
    const opening = this.#channels.get(name);
    if (!opening) return;
    this.#channels.delete(name);
    const keys = channelKeys(name);
    this.#byWake.delete(keys.wake);
    // Sent before any later subscribe of the same wake channel (one connection, in order), so
    // the channel opened again after this keeps its subscription.
    this.#subscriber.unsubscribe(keys.wake).catch(() => {});
    (await opening.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#ticker);
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
    this.#timedOut(this.#redis, error as Error);
    return new SspError('unavailable', `the event log (Redis) is not available: ${(error as Error).message}`, { retryAfterMs: this.#retryAfterMs });
  }

  /** A command got no answer in time: its connection may be silent, so it is replaced (unless this process stalled meanwhile). */
  #timedOut(client: Redis, error: Error): void {
    if (error?.message !== 'Command timed out' || this.#closed || client.status !== 'ready') return;
    if (performance.now() - this.#stalledAt <= this.#timeoutMs + STALL_MS) return;
    client.disconnect(true);
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
    // Reads that failed while the connection was away (a refresh among them) are read again.
    this.#refreshAll();
  }
}
