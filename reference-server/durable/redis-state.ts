// Sessions' state in Redis, shared by every instance (key names in redis-format.ts):
// remembered terminations (a session closed on one instance answers its termination on all),
// live session records, the time of each session's last request, producer leases, and the
// signing-key ids the instances sign with.
import type { Redis } from 'ioredis';
import type { SessionRecord, SessionStore, SigningKeyRecord, StreamRecord } from '../event-log/session-store.ts';
import { KEY_PREFIX, SIGNING_KEYS_KEY, leaseKey, sessionKey, terminationKey } from './redis-format.ts';

const activeKey = (sessionId: string) => `${KEY_PREFIX}active:${sessionId}`;
const heldKey = (sessionId: string) => `${KEY_PREFIX}held:${sessionId}`;
/** Each instance's own pub/sub channel: `poll ID POSITION` (a poll arrived elsewhere) or `end ID`. */
export const instanceChannel = (instance: string) => `${KEY_PREFIX}instance:${instance}`;
/** Terminations are kept this much longer than asked: a client's clock starts after the server's. */
const MEMORY_MARGIN_MS = 2000;

/** Renews a lease only if this instance still holds it. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** Records a signing key's use: the hash field keeps the first time and the latest last time. */
const KEY_USE_SCRIPT = `local old = redis.call('HGET', KEYS[1], ARGV[1])
local at = tonumber(ARGV[2])
local first, last = at, at
if old then
  local o = cjson.decode(old)
  first = math.min(o.first, at)
  last = math.max(o.last, at)
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({first = first, last = last}))
return last`;
/** Releases a lease only if this instance holds it. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

interface Lease {
  timer: NodeJS.Timeout;
  held: boolean;
}

export class RedisSessionStore implements SessionStore {
  readonly shared = true;
  readonly #leases = new Map<string, Lease>();

  constructor(
    readonly redis: Redis,
    readonly instance: string,
    readonly leaseMs: number,
    readonly unavailable: (error: unknown) => Error,
  ) {}

  termination(sessionId: string): Promise<string | undefined> {
    return this.#call(async () => (await this.redis.get(terminationKey(sessionId))) ?? undefined);
  }

  rememberTermination(sessionId: string, body: string, memoryMs: number): Promise<void> {
    return this.#call(async () => {
      // The first termination remembered wins: two instances ending a session agree on one answer.
      const [, , held] = (await this.redis
        .multi()
        .set(terminationKey(sessionId), body, 'PX', memoryMs + MEMORY_MARGIN_MS, 'NX')
        .del(sessionKey(sessionId), activeKey(sessionId))
        .get(heldKey(sessionId))
        .exec()) as Array<[Error | null, unknown]>;
      this.#tell(held?.[1], `end ${sessionId}`);
    });
  }

  saveSession(sessionId: string, record: SessionRecord, lifetimeMs: number): Promise<void> {
    return this.#call(async () => {
      await this.redis
        .multi()
        .set(sessionKey(sessionId), JSON.stringify(record), 'PX', lifetimeMs)
        .set(activeKey(sessionId), String(Date.now()), 'PX', lifetimeMs)
        .exec();
    });
  }

  loadSession(sessionId: string): Promise<SessionRecord | undefined> {
    return this.#call(async () => {
      const json = await this.redis.get(sessionKey(sessionId));
      return json === null ? undefined : (JSON.parse(json) as SessionRecord);
    });
  }

  /** For a poll, also tells the instance holding a poll of the session, if another, that it arrived. */
  touchSession(sessionId: string, lifetimeMs: number, pollAt?: number): void {
    const touch = this.redis.multi().pexpire(sessionKey(sessionId), lifetimeMs).set(activeKey(sessionId), String(Date.now()), 'PX', lifetimeMs);
    if (pollAt === undefined) {
      touch.exec().catch(() => {});
      return;
    }
    touch
      .get(heldKey(sessionId))
      .exec()
      .then((replies) => this.#tell(replies?.[2]?.[1], `poll ${sessionId} ${pollAt}`))
      .catch(() => {});
  }

  /**
   * A multiplexed session's record is a hash at the session's key: field `s:ID` holds stream
   * ID's record without its termination (HSETNX: the first one stays), `t:ID` its termination
   * (HSETNX too). One transaction merges and reads back, so concurrent merges agree.
   */
  mergeStreams(sessionId: string, streams: readonly StreamRecord[], lifetimeMs: number): Promise<StreamRecord[]> {
    return this.#call(async () => {
      const key = sessionKey(sessionId);
      const merge = this.redis.multi();
      for (const { termination, ...stream } of streams) {
        merge.hsetnx(key, `s:${stream.id}`, JSON.stringify(stream));
        if (termination) merge.hsetnx(key, `t:${stream.id}`, JSON.stringify(termination));
      }
      merge.pexpire(key, lifetimeMs).set(activeKey(sessionId), String(Date.now()), 'PX', lifetimeMs).hgetall(key);
      const replies = (await merge.exec()) as Array<[Error | null, unknown]>;
      const [error, fields] = replies[replies.length - 1]!;
      if (error) throw error;
      return streamsOf(fields as Record<string, string>) ?? [];
    });
  }

  loadStreams(sessionId: string): Promise<StreamRecord[] | undefined> {
    return this.#call(async () => streamsOf(await this.redis.hgetall(sessionKey(sessionId))));
  }

  /** A poll held on any instance counts: a hold (up to maxHoldMs) may outlast the idle time. */
  sessionActive(sessionId: string, idleMs: number): Promise<boolean> {
    return this.#call(async () => {
      const [active, held] = await Promise.all([this.redis.get(activeKey(sessionId)), this.redis.exists(heldKey(sessionId))]);
      return held === 1 || Date.now() - Number(active ?? '0') < idleMs;
    });
  }

  holding(sessionId: string, holdMs: number): void {
    this.redis.set(heldKey(sessionId), this.instance, 'PX', holdMs + MEMORY_MARGIN_MS).catch(() => {});
  }

  /** Both holders listen (plain and multiplexed sessions); each ignores ids it does not hold. */
  readonly #listeners: Array<(sessionId: string, what: 'poll' | 'end', position?: number) => void> = [];

  onRemote(listener: (sessionId: string, what: 'poll' | 'end', position?: number) => void): void {
    this.#listeners.push(listener);
  }

  /** A message on this instance's channel (wired by the log's subscriber): `poll ID POSITION` or `end ID`. */
  remote(message: string): void {
    const [what, sessionId, position] = message.split(' ');
    if (what === 'poll' && position !== undefined) for (const listener of this.#listeners) listener(sessionId, what, Number(position));
    else if (what === 'end') for (const listener of this.#listeners) listener(sessionId, what);
  }

  #tell(instance: unknown, message: string): void {
    if (typeof instance === 'string' && instance !== this.instance) this.redis.publish(instanceChannel(instance), message).catch(() => {});
  }

  /**
   * Takes the producer lease, now or as soon as another instance's lapses (tried every
   * lease/3); `start` runs once it is held, `lost` if a renewal fails (Redis away too long,
   * or another instance took it), after which it is retried again.
   */
  claimProducer(sessionId: string, start: () => void, onLost: () => void): Promise<void> | undefined {
    if (this.#leases.has(sessionId)) return undefined;
    const key = leaseKey(sessionId);
    const lease: Lease = { held: false, timer: undefined as unknown as NodeJS.Timeout };
    const tick = async () => {
      try {
        if (lease.held) {
          const renewed = await this.redis.eval(RENEW_SCRIPT, 1, key, this.instance, this.leaseMs);
          if (renewed === 1 || !this.#leases.has(sessionId)) return;
          lease.held = false;
          onLost();
        } else if ((await this.redis.set(key, this.instance, 'PX', this.leaseMs, 'NX')) === 'OK' && this.#leases.get(sessionId) === lease) {
          lease.held = true;
          start();
        }
      } catch {
        // Redis is away: a held lease may lapse meanwhile; the next renewal finds out.
      }
    };
    lease.timer = setInterval(() => void tick(), Math.max(50, Math.floor(this.leaseMs / 3)));
    lease.timer.unref();
    this.#leases.set(sessionId, lease);
    return tick();
  }

  releaseProducer(sessionId: string): void {
    const lease = this.#leases.get(sessionId);
    if (!lease) return;
    clearInterval(lease.timer);
    this.#leases.delete(sessionId);
    if (lease.held) this.redis.eval(RELEASE_SCRIPT, 1, leaseKey(sessionId), this.instance).catch(() => {});
  }

  signingKeys(): Promise<SigningKeyRecord[]> {
    return this.#call(async () =>
      Object.entries(await this.redis.hgetall(SIGNING_KEYS_KEY)).map(([id, json]) => {
        const { first, last } = JSON.parse(json) as { first: number; last: number };
        return { id, firstSigned: first, lastSigned: last };
      }),
    );
  }

  recordSigningKey(id: string, at: number): Promise<void> {
    return this.#call(async () => {
      await this.redis.eval(KEY_USE_SCRIPT, 1, SIGNING_KEYS_KEY, id, at);
    });
  }

  close(): void {
    for (const lease of this.#leases.values()) clearInterval(lease.timer);
    this.#leases.clear();
  }

  async #call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.unavailable(error);
    }
  }
}

/** A multiplexed session's hash (see mergeStreams) → its streams; undefined when there is none. */
function streamsOf(fields: Record<string, string>): StreamRecord[] | undefined {
  const streams: StreamRecord[] = [];
  for (const [field, json] of Object.entries(fields)) {
    if (!field.startsWith('s:')) continue;
    const stream = JSON.parse(json) as StreamRecord;
    const termination = fields[`t:${stream.id}`];
    streams.push(termination === undefined ? stream : { ...stream, termination: JSON.parse(termination) as NonNullable<StreamRecord['termination']> });
  }
  return streams.length > 0 ? streams : undefined;
}
