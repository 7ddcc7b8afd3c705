// The sessions this process holds, within the admission limits (overall, per client
// SSP-SECURITY-6, per stream): made at open, or re-created from a verified signature or a
// durable log's record (§4, spec §18.4), where two polls racing to re-create one session get
// the same one. A session starts with its channel watched, its producer running and its idle
// deadline set.
import type { SessionRecord } from '../event-log/session-store.ts';
import type { Channel, MaybePromise } from '../event-log/types.ts';
import { isPromise, sessionChannel, topicChannel } from '../event-log/types.ts';
import { SspError } from '../errors.ts';
import type { SessionKey, SignedState } from '../signature.ts';
import { startProducer } from '../streams/pump.ts';
import type { RegisteredStream } from '../streams/registry.ts';
import { ClientCounts } from './client-counts.ts';
import type { HeldPolls } from './held-polls.ts';
import { assertNotGuarded, forgotten } from './guards.ts';
import { Session } from './session.ts';
import type { SessionEvents } from './session.ts';
import type { HolderOptions } from './sessions.ts';
import { capRetryAfter } from './session-wait.ts';

/** The holder's options the table reads, and what the holder gives it. */
export interface TableOptions
  extends Pick<HolderOptions, 'limits' | 'registry' | 'signer' | 'log' | 'maxSessions' | 'maxSessionsPerClient' | 'retryAfterMs' | 'restartGuard'> {
  /** Longest wait asked of a poll (SSP-LIFETIME-7). */
  sessionRetryMs: number;
  /** What every session's channel, idle timer and delayed flush call. */
  events: SessionEvents;
  /** Keeps each session's one deadline (./held-polls.ts). */
  held: HeldPolls;
  /** Throws `unavailable` once the server is shutting down (it may begin while a channel opens). */
  assertRunning(retryAfterMs: number): void;
}

export class SessionTable {
  readonly #o: TableOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #clients: ClientCounts;
  /** Re-creations of forgotten sessions under way (their channel is opening). */
  readonly #recreating = new Map<string, Promise<Session>>();
  /** Sessions counted against the limits whose channel is still opening. */
  #reserved = 0;

  constructor(options: TableOptions) {
    this.#o = options;
    this.#clients = new ClientCounts(options);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Clients with at least one live session. */
  get clients(): number {
    return this.#clients.clients;
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** True while `session` is the one this process holds under its id. */
  holds(session: Session): boolean {
    return session.live;
  }

  values(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** The session leaves the table and its client's count. */
  remove(session: Session): void {
    session.live = false;
    this.#sessions.delete(session.key.sessionId);
    this.#clients.release(session.client);
  }

  clear(): void {
    for (const session of this.#sessions.values()) session.live = false;
    this.#sessions.clear();
    this.#clients.clear();
  }

  /** `record`: the stored record of a session continued after a restart or from another instance. */
  async start(key: SessionKey, stream: RegisteredStream, position: number, client: string, record?: SessionRecord): Promise<Session> {
    const { retryAfterMs, limits } = this.#o;
    // Counted before the channel opens (which may wait on a durable log), so concurrent opens
    // cannot pass the limits together.
    this.#clients.admit(client, this.#sessions.size + this.#reserved);
    this.#reserved++;
    let channel: Channel;
    let base: number;
    try {
      // Checked after the overall and per-client limits, which answer first.
      const maxConcurrent = stream.definition.maxConcurrent;
      if (maxConcurrent !== undefined && stream.active >= maxConcurrent) {
        throw new SspError('too-many-sessions', `stream '${stream.name}' runs at most ${maxConcurrent} sessions at once`, { retryAfterMs });
      }
      const topic = stream.definition.topic;
      const opened =
        topic === undefined
          ? this.#o.log.channel(sessionChannel(key.sessionId), { readers: 'single', retainEvents: limits.retainEvents, startAt: position })
          : this.#o.log.channel(topicChannel(topic), { readers: 'shared', retainEvents: limits.retainEvents, startAt: 0 });
      channel = isPromise(opened) ? await opened : opened;
      // A topic session begins at the topic's head: position 0 is that channel seq.
      base = record?.base ?? (stream.definition.topic === undefined ? 0 : channel.head);
      // A durable log keeps the session's record, so a restart or another instance continues it.
      const store = this.#o.log.sessions;
      if (store && !record) {
        const saved = store.saveSession(key.sessionId, { stream: stream.name, params: key.params, base }, limits.idleTimeoutMs + limits.maxHoldMs);
        if (isPromise(saved)) await saved;
      }
      // The server began shutting down while the channel opened.
      this.#o.assertRunning(this.#o.retryAfterMs);
    } catch (error) {
      this.#clients.release(client);
      throw error;
    } finally {
      this.#reserved--;
    }
    const session = new Session(key, stream, channel, base, client, this.#o.events);
    channel.watch(session);
    this.#sessions.set(key.sessionId, session);
    session.live = true;
    if (stream.definition.produce) {
      // A shared log decides in Redis which instance runs the producer: wait for that first.
      const claimed = this.#startProducer(session, record !== undefined);
      if (isPromise(claimed)) await claimed;
    }
    // Its first deadline: the idle end, or the end of a poll held meanwhile.
    this.#o.held.arm(session);
    return session;
  }

  /**
   * Runs the session's producer from the channel's head (what is already appended stays; with
   * the memory log the head is the session's position). With a durable log it runs on one
   * instance at a time (a lease); a session continued from a stored record whose stream cannot
   * resume ends with error `producer-lost`, advice reopen (spec §18.4).
   */
  #startProducer(session: Session, continued: boolean): MaybePromise<void> {
    const { stream, channel, key } = session;
    const run = () => {
      if (this.#sessions.get(key.sessionId) !== session || session.producer || channel.ended) return;
      if (continued && !stream.resumable) {
        const lost = { message: 'the producer of this session stopped with its server instance and cannot resume; reopen', code: 'producer-lost' };
        const ended = channel.end({ reason: 'error', error: lost, advice: 'reopen' });
        if (isPromise(ended)) ended.catch((error: unknown) => console.error('xanjax: event log end failed:', error));
        return;
      }
      session.producer = startProducer(stream, key.params, channel, channel.head - session.base);
    };
    const store = this.#o.log.sessions;
    if (!store) return run();
    return store.claimProducer(key.sessionId, run, () => {
      session.producer?.stop();
      session.producer = undefined;
    });
  }

  /**
   * §4: a verified signature of a forgotten session re-creates it if its stream is resumable,
   * or if a durable log holds its record (a restart, or a poll that landed on another instance).
   */
  recreate(state: SignedState, client: string): Promise<Session> {
    const { restartGuard, sessionRetryMs } = this.#o;
    assertNotGuarded(state, restartGuard, sessionRetryMs);
    const stream = this.#o.registry.get(state.stream);
    const store = this.#o.log.sessions;
    if (!stream || (!stream.resumable && !store)) throw forgotten();
    let params: Record<string, unknown>;
    try {
      params = stream.checkParams(state.params);
    } catch {
      throw forgotten();
    }
    // Two polls racing to re-create one session get the same one.
    const id = state.sessionId;
    let recreating = this.#recreating.get(id);
    if (!recreating) {
      const key = this.#o.signer.key(id, stream.name, params);
      recreating = (async () => {
        const found = store?.loadSession(id);
        const record = isPromise(found) ? await found : found;
        if (!record && !stream.resumable) throw forgotten();
        return this.start(key, stream, state.position, client, record);
      })().catch((error: unknown) => {
        // A wait asked of the poll (or close) that re-creates: no longer than the holder's own.
        throw error instanceof SspError ? capRetryAfter(error, sessionRetryMs) : error;
      });
      this.#recreating.set(id, recreating);
      const done = () => this.#recreating.delete(id);
      recreating.then(done, done);
    }
    return recreating;
  }
}
