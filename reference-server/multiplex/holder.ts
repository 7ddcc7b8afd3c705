// Multiplexed sessions (spec §23): one session, one held poll, many streams, each read from
// its own event-log channel (or a topic's shared one) at its own cursor, with its producer. Streams are added and removed by `ext.multiplex` on polls;
// the session record (ids, names, params, ended streams) lives here, in memory, and a
// restart or another instance re-creates it from a poll that restates the streams (§23.7).
import { randomBytes } from 'node:crypto';
import { errorCodeInfo } from '../../schemas/index.ts';
import type { Advice } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';
import type { ChannelWatcher, EventLog, ReadResult, StreamEnd } from '../event-log/types.ts';
import { isPromise, sessionChannel, topicChannel } from '../event-log/types.ts';
import { sendJson } from '../holder/http.ts';
import type { SspResponse } from '../holder/http.ts';
import type { TimerHandle, TimerTarget, TimerWheel } from '../holder/timer-wheel.ts';
import type { Limits } from '../limits.ts';
import { sameSignature, sessionIdOf } from '../signature.ts';
import type { Signer } from '../signature.ts';
import { startProducer } from '../streams/pump.ts';
import type { StreamRegistry } from '../streams/registry.ts';
import { assemble, gather, partJson } from './batch.ts';
import { MuxStream } from './channel.ts';
import { assertUnexpired, digestOf, signMux, VERSION, verifyMux } from './signature.ts';
import type { MuxState } from './signature.ts';
import { EXTENSION } from './wire.ts';
import type { OpenExt, PollExt, Refusal, StreamSpec, StreamTermination } from './wire.ts';

export interface MuxHolderOptions {
  limits: Limits;
  registry: StreamRegistry;
  signer: Signer;
  log: EventLog;
  wheel: TimerWheel;
  /** Most live streams per session (discovery ext.multiplex.maxStreams). */
  maxStreams: number;
  maxSessions: number;
  maxSessionsPerClient: number;
  retryAfterMs: number;
  shutdownResumeDelayMs: number;
  /**
   * SSP-SIGNATURE-14 for a log that forgets terminations on restart while the key is kept: a
   * session this process does not know is not re-created (restated) until its signature expires.
   */
  restartGuard?: boolean | undefined;
}

class Poll {
  timer: TimerHandle | undefined;
  constructor(
    readonly res: SspResponse,
    readonly origin: string | undefined,
    readonly positions: Map<string, number>,
  ) {}
}

class MuxSession implements ChannelWatcher {
  readonly channels = new Map<string, MuxStream>();
  /** The newest signature issued, with what it encodes: a poll carrying it needs no HMAC. */
  lastSig: string | undefined;
  lastState: MuxState | undefined;
  /** The digest of the streams named last (ids joined), reused while they stay the same. */
  digestIds: string | undefined;
  digest = '';
  held: Poll | undefined;
  /** The newest poll received (an older one finishing an asynchronous read is not held). */
  latest: Poll | undefined;
  lastActive = Date.now();
  flushPending = false;
  idleTimer: TimerHandle | undefined;
  rotation = 0;
  idleTarget!: TimerTarget;
  flushTarget!: TimerTarget;
  constructor(
    readonly id: string,
    readonly client: string,
    readonly wake: (session: MuxSession) => void,
  ) {}

  /** Any of its channels changed: one watcher per session, whatever its streams. */
  onChannelChange(): void {
    this.wake(this);
  }

  get live(): number {
    let n = 0;
    for (const channel of this.channels.values()) if (!channel.termination) n++;
    return n;
  }
}

interface Changes {
  added: string[];
  refused: Refusal[];
}

const flush = (target: TimerTarget) => target.onTimer();

export class MuxHolder {
  readonly #o: MuxHolderOptions;
  readonly #sessions = new Map<string, MuxSession>();
  readonly #tombstones = new Map<string, { body: string; timer: TimerHandle }>();
  readonly #perClient = new Map<string, number>();
  readonly #memoryMs: number;
  #heldPolls = 0;
  #closing = false;
  readonly #wakeSession = (session: MuxSession) => this.#wake(session);

  constructor(options: MuxHolderOptions) {
    this.#o = options;
    const { terminationMemoryMs, idleTimeoutMs, maxHoldMs } = options.limits;
    this.#memoryMs = Math.max(terminationMemoryMs, idleTimeoutMs + maxHoldMs);
  }

  stats(): { sessions: number; heldPolls: number; tombstones: number; streams: number } {
    let streams = 0;
    for (const session of this.#sessions.values()) streams += session.live;
    return { sessions: this.#sessions.size, heldPolls: this.#heldPolls, tombstones: this.#tombstones.size, streams };
  }

  /** §23.3: open with `multiplex` accepted; the open's own stream fails the open like SSP/1. */
  async open(stream: string, params: Record<string, unknown>, ext: OpenExt | undefined, client: string): Promise<string> {
    this.#assertRunning();
    const first: Required<StreamSpec> = { id: ext?.id ?? '0', stream, params };
    const registered = this.#o.registry.get(stream);
    if (!registered) throw new SspError('unknown-stream', `stream '${stream}' is not offered here (see discovery)`);
    registered.checkParams(structuredClone(params));
    const session = this.#start(randomBytes(16).toString('base64url'), client);
    try {
      session.channels.set(first.id, await this.#channel(session, first, 0));
    } catch (error) {
      this.#drop(session);
      throw error;
    }
    const changes = await this.#add(session, ext?.add ?? []);
    const positions = new Map([[first.id, 0], ...changes.added.filter((id) => id !== first.id).map((id) => [id, 0] as [string, number])]);
    const mux = { id: first.id, added: changes.added, refused: changes.refused };
    return JSON.stringify({ ssp: 1, type: 'session', sig: this.#sign(session, positions), stream, position: 0, extensions: [EXTENSION], ext: { [EXTENSION]: mux } });
  }

  async poll(sig: string, hold: number | undefined, ext: PollExt | undefined, res: SspResponse, origin: string | undefined, client: string): Promise<void> {
    this.#assertRunning();
    // The signature this process issued last for a live session needs no HMAC: it is that
    // exact string (compared in constant time), and a live session has no tombstone.
    const known = this.#sessions.get(sessionIdOf(sig, VERSION) ?? '');
    const state = known?.lastSig !== undefined && sameSignature(sig, known.lastSig) ? known.lastState! : verifyMux(this.#o.signer, sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return sendJson(res, origin, 200, tombstone.body);
    assertUnexpired(state);
    let session = this.#sessions.get(state.sessionId);
    if (!session) {
      const remaining = state.expiresAt - Date.now();
      if (this.#o.restartGuard && remaining > 0) {
        throw new SspError('unavailable', 'server restarted: sessions from before the restart cannot be resumed yet', { retryAfterMs: Math.min(remaining, this.#o.retryAfterMs) });
      }
      if (!ext?.restate) throw restateNeeded();
      session = await this.#restate(state, ext.restate, client);
    }
    session.lastActive = Date.now();
    // §10: a newer poll supersedes the held one, answered at its own positions.
    if (session.held) this.#answerEmpty(session, session.held);
    const positions = new Map(state.positions);
    let changes: Changes | undefined;
    if (ext?.add || ext?.remove) {
      changes = await this.#add(session, ext.add ?? []);
      for (const id of changes.added) if (!positions.has(id)) positions.set(id, 0);
      for (const id of ext.remove ?? []) {
        const stream = session.channels.get(id);
        if (stream && positions.has(id)) stream.end({ reason: 'closed', last: positions.get(id)!, advice: { action: 'none' } }, this.#o.log);
      }
    }
    for (const [id, position] of positions) {
      const reading = session.channels.get(id)?.reading;
      reading?.channel.acknowledge(reading.base + position);
    }
    const poll = new Poll(res, origin, positions);
    session.latest = poll;
    // A poll that changed the session is answered at once, so the client learns the outcome (§23.3).
    if (await this.#answer(session, poll, changes !== undefined, changes)) return;
    // Superseded while the log answered: that newer poll is the one to hold.
    if (session.latest !== poll) return this.#answerEmpty(session, poll);
    const effectiveHold = Math.min(hold ?? this.#o.limits.maxHoldMs, this.#o.limits.maxHoldMs);
    if (effectiveHold === 0) return void (await this.#answer(session, poll, true));
    this.#hold(session, poll, effectiveHold);
  }

  close(sig: string): string {
    this.#assertRunning();
    const state = verifyMux(this.#o.signer, sig);
    const tombstone = this.#tombstones.get(state.sessionId);
    if (tombstone) return tombstone.body;
    assertUnexpired(state);
    const session = this.#sessions.get(state.sessionId);
    if (!session) throw new SspError('session-expired', 'session is no longer known (expired, closed or from before a restart); open a new session');
    return this.#terminate(session, 'closed', state.positions);
  }

  shutdown(): void {
    this.#closing = true;
    for (const session of this.#sessions.values()) {
      const poll = session.held;
      if (poll) {
        this.#release(session, poll);
        const advice: Advice = { action: 'resume', delayMs: this.#o.shutdownResumeDelayMs };
        // The positions stay as they were: after the restart, the client resumes from them (§23.7).
        sendJson(poll.res, poll.origin, 200, this.#terminationBody(session, 'shutdown', advice, poll.positions, []), { connection: 'close' });
      }
      this.#o.wheel.cancel(session.idleTimer);
      // A durable log keeps the streams' own channels for the restart; the memory log is closed
      // by the SSP/1 holder's shutdown after this.
      for (const stream of session.channels.values()) {
        stream.reading?.producer?.stop();
        stream.reading?.channel.unwatch(session);
      }
    }
    this.#sessions.clear();
    this.#perClient.clear();
    for (const tombstone of this.#tombstones.values()) this.#o.wheel.cancel(tombstone.timer);
    this.#tombstones.clear();
  }

  #assertRunning(): void {
    if (this.#closing) throw new SspError('unavailable', 'server is shutting down', { retryAfterMs: this.#o.retryAfterMs });
  }

  #start(id: string, client: string): MuxSession {
    const { maxSessions, maxSessionsPerClient, retryAfterMs, limits } = this.#o;
    if (this.#sessions.size >= maxSessions) throw new SspError('too-many-sessions', `session limit (${maxSessions}) reached`, { retryAfterMs });
    const clientSessions = this.#perClient.get(client) ?? 0;
    if (clientSessions >= maxSessionsPerClient) {
      throw new SspError('too-many-sessions', `session limit per client (${maxSessionsPerClient}) reached`, { retryAfterMs });
    }
    const session = new MuxSession(id, client, this.#wakeSession);
    session.idleTarget = { onTimer: () => this.#checkIdle(session) };
    session.flushTarget = { onTimer: () => this.#flush(session) };
    this.#sessions.set(id, session);
    this.#perClient.set(client, clientSessions + 1);
    session.idleTimer = this.#o.wheel.schedule(Date.now() + limits.idleTimeoutMs, session.idleTarget);
    return session;
  }

  /**
   * Starts one stream at `position` (its own channel, or a topic's shared one from its head);
   * throws the typed error `open` would answer. `spec` keeps the params as the client sent
   * them (the digest covers those); the producer gets them checked, defaults filled in.
   */
  async #channel(session: MuxSession, spec: Required<StreamSpec>, position: number): Promise<MuxStream> {
    const stream = this.#o.registry.get(spec.stream)!;
    const params = stream.checkParams(structuredClone(spec.params));
    const { maxConcurrent, topic } = stream.definition;
    if (maxConcurrent !== undefined && stream.active >= maxConcurrent) {
      throw new SspError('too-many-sessions', `stream '${stream.name}' runs at most ${maxConcurrent} sessions at once`, { retryAfterMs: this.#o.retryAfterMs });
    }
    const { retainEvents } = this.#o.limits;
    const opening =
      topic === undefined
        ? this.#o.log.channel(sessionChannel(`${session.id}/${spec.id}`), { readers: 'single', retainEvents, startAt: position })
        : this.#o.log.channel(topicChannel(topic), { readers: 'shared', retainEvents, startAt: 0 });
    const channel = isPromise(opening) ? await opening : opening;
    channel.watch(session);
    // From the channel's head, not the client's position: a durable log (file) kept what was
    // appended before a restart, so a restated stream's producer goes on after it (as plain
    // sessions do); with the memory log the new channel's head is `position`.
    const producer = stream.definition.produce ? startProducer(stream, params, channel, channel.head) : undefined;
    return new MuxStream(spec, { channel, base: topic === undefined ? 0 : channel.head, own: topic === undefined, producer, watcher: session });
  }

  /** §23.3: each addition accepted or refused on its own; a repeated identical one is accepted again. */
  async #add(session: MuxSession, specs: StreamSpec[]): Promise<Changes> {
    const changes: Changes = { added: [], refused: [] };
    for (const spec of specs) {
      const existing = session.channels.get(spec.id);
      try {
        if (existing) {
          if (!existing.sameAs(spec)) throw new MuxRefusal('stream-id-in-use', `stream id '${spec.id}' already names another stream of this session`);
        } else {
          if (session.live >= this.#o.maxStreams) throw new MuxRefusal('too-many-streams', `a session carries at most ${this.#o.maxStreams} live streams`);
          // Ended streams stay in the record (their termination is repeatable): bound them too.
          if (session.channels.size >= 4 * this.#o.maxStreams) throw new MuxRefusal('too-many-streams', 'this session has used up its stream ids; open a new session');
          const stream = this.#o.registry.get(spec.stream);
          if (!stream) throw new SspError('unknown-stream', `stream '${spec.stream}' is not offered here (see discovery)`);
          const full = { id: spec.id, stream: spec.stream, params: spec.params ?? {} };
          stream.checkParams(structuredClone(full.params));
          session.channels.set(spec.id, await this.#channel(session, full, 0));
        }
        changes.added.push(spec.id);
      } catch (error) {
        if (!(error instanceof SspError) && !(error instanceof MuxRefusal)) throw error;
        changes.refused.push({ id: spec.id, error: refusalOf(error) });
      }
    }
    return changes;
  }

  /**
   * §23.7: the record is gone (restart, another instance), the signature is valid, and the
   * poll restates the streams it names: resumable streams resume at their positions, the
   * others end with `expired` and advice `reopen`.
   */
  async #restate(state: MuxState, restated: StreamSpec[], client: string): Promise<MuxSession> {
    // The client may restate more streams than the signature names (ones whose termination it
    // has, or is still adding): only the named ones count, and the digest must match them.
    const specs = restated.filter((spec) => state.positions.has(spec.id));
    const ids = new Set(specs.map((spec) => spec.id));
    if (ids.size !== specs.length || ids.size !== state.positions.size || digestOf(specs) !== state.digest) {
      throw new SspError('bad-request', "ext.multiplex.restate does not match the streams the signature names (each once, with the session's exact names and params)");
    }
    const session = this.#start(state.sessionId, client);
    for (const spec of specs) {
      const full: Required<StreamSpec> = { id: spec.id, stream: spec.stream, params: spec.params ?? {} };
      const position = state.positions.get(spec.id)!;
      const stream = this.#o.registry.get(spec.stream);
      let resumed: MuxStream | undefined;
      if (stream?.resumable && stream.definition.topic === undefined) {
        try {
          resumed = await this.#channel(session, full, position);
        } catch {
          resumed = undefined;
        }
      }
      session.channels.set(spec.id, resumed ?? MuxStream.ended(full, { reason: 'expired', last: position, advice: { action: 'reopen' } }));
    }
    return session;
  }

  /** Answers `poll` if it has something to carry (or `force`); true when answered. */
  #answer(session: MuxSession, poll: Poll, force: boolean, changes?: Changes): boolean | Promise<boolean> {
    const reads = gather(poll.positions, session.channels, this.#o.limits);
    if (!isPromise(reads)) return this.#send(session, poll, force, changes, reads);
    return reads.then((result) => this.#sessions.get(session.id) === session && this.#send(session, poll, force, changes, result));
  }

  #send(session: MuxSession, poll: Poll, force: boolean, changes: Changes | undefined, reads: Map<string, ReadResult>): boolean {
    const { parts, positions } = assemble(poll.positions, session.channels, reads, this.#o.limits, session.rotation++, (stream) => {
      stream.end(streamTermination(stream.reading!.channel.ended!, stream.head), this.#o.log);
    });
    if (parts.length === 0 && !force) return false;
    if (session.held === poll) this.#release(session, poll);
    let mux = `{"streams":[${parts.join(',')}]`;
    if (changes) mux += `,"added":${JSON.stringify(changes.added)},"refused":${JSON.stringify(changes.refused)}`;
    const body = `{"ssp":1,"type":"batch","sig":"${this.#sign(session, positions)}","events":[],"ext":{"${EXTENSION}":${mux}}}}`;
    sendJson(poll.res, poll.origin, 200, body);
    return true;
  }

  /** Nothing at the poll's own positions, a fresh signature (§10: a superseded poll). */
  #answerEmpty(session: MuxSession, poll: Poll): void {
    if (session.held === poll) this.#release(session, poll);
    const body = `{"ssp":1,"type":"batch","sig":"${this.#sign(session, poll.positions)}","events":[],"ext":{"${EXTENSION}":{"streams":[]}}}`;
    sendJson(poll.res, poll.origin, 200, body);
  }

  #hold(session: MuxSession, poll: Poll, holdMs: number): void {
    const socket = poll.res.socket;
    if (poll.res.destroyed || !socket || socket.destroyed) return;
    session.held = poll;
    this.#heldPolls++;
    poll.timer = this.#o.wheel.schedule(Date.now() + holdMs, {
      onTimer: () => {
        if (session.held === poll) void this.#answer(session, poll, true);
      },
    });
    poll.res.once('close', () => {
      if (session.held === poll) this.#release(session, poll);
    });
  }

  #release(session: MuxSession, poll: Poll): void {
    session.held = undefined;
    session.lastActive = Date.now();
    this.#heldPolls--;
    this.#o.wheel.cancel(poll.timer);
  }

  #wake(session: MuxSession): void {
    if (!session.held || session.flushPending) return;
    session.flushPending = true;
    const { batchDelayMs } = this.#o.limits;
    if (batchDelayMs > 0) this.#o.wheel.schedule(Date.now() + batchDelayMs - this.#o.wheel.resolution, session.flushTarget);
    else setImmediate(flush, session.flushTarget);
  }

  #flush(session: MuxSession): void {
    session.flushPending = false;
    if (session.held) void this.#answer(session, session.held, false);
  }

  #checkIdle(session: MuxSession): void {
    if (this.#sessions.get(session.id) !== session) return;
    const now = Date.now();
    const due = session.held ? now + this.#o.limits.idleTimeoutMs : session.lastActive + this.#o.limits.idleTimeoutMs;
    if (due > now) session.idleTimer = this.#o.wheel.schedule(due, session.idleTarget);
    else this.#terminate(session, 'expired', new Map());
  }

  /** §23.5: the session ends: every stream still live ends with the same reason; remembered. */
  #terminate(session: MuxSession, reason: 'closed' | 'expired', positions: ReadonlyMap<string, number>): string {
    const ended: string[] = [];
    for (const stream of session.channels.values()) {
      if (stream.termination) continue;
      const termination: StreamTermination = { reason, last: positions.get(stream.id) ?? stream.head, advice: advise(reason) };
      stream.end(termination, this.#o.log);
      ended.push(partJson({ id: stream.id, events: [], termination }));
    }
    const body = this.#terminationBody(session, reason, advise(reason), new Map(), ended);
    const poll = session.held;
    if (poll) {
      this.#release(session, poll);
      sendJson(poll.res, poll.origin, 200, body);
    }
    this.#drop(session);
    const tombstone = {
      body,
      timer: this.#o.wheel.schedule(Date.now() + this.#memoryMs, {
        onTimer: () => {
          if (this.#tombstones.get(session.id) === tombstone) this.#tombstones.delete(session.id);
        },
      }),
    };
    this.#tombstones.set(session.id, tombstone);
    return body;
  }

  #terminationBody(session: MuxSession, reason: string, advice: Advice, positions: ReadonlyMap<string, number>, parts: string[]): string {
    const sig = this.#sign(session, positions);
    return `{"ssp":1,"type":"termination","sig":"${sig}","reason":"${reason}","last":0,"advice":${JSON.stringify(advice)},"ext":{"${EXTENSION}":{"streams":[${parts.join(',')}]}}}`;
  }

  #drop(session: MuxSession): void {
    this.#sessions.delete(session.id);
    this.#o.wheel.cancel(session.idleTimer);
    const left = (this.#perClient.get(session.client) ?? 1) - 1;
    if (left > 0) this.#perClient.set(session.client, left);
    else this.#perClient.delete(session.client);
    for (const stream of session.channels.values()) stream.end({ reason: 'closed', last: stream.head, advice: { action: 'none' } }, this.#o.log);
  }

  #sign(session: MuxSession, positions: ReadonlyMap<string, number>): string {
    // A stream id names one stream for the session's whole life (§23.2), so the same ids
    // mean the same digest: computed again only when the named streams change.
    let ids = '';
    for (const id of positions.keys()) if (session.channels.has(id)) ids += `${id},`;
    if (ids !== session.digestIds) {
      const specs: StreamSpec[] = [];
      for (const id of positions.keys()) {
        const stream = session.channels.get(id);
        if (stream) specs.push(stream.spec);
      }
      session.digest = digestOf(specs);
      session.digestIds = ids;
    }
    const { idleTimeoutMs, maxHoldMs } = this.#o.limits;
    const expiresAt = Date.now() + idleTimeoutMs + maxHoldMs;
    const sig = signMux(this.#o.signer, session.id, session.digest, positions, expiresAt);
    session.lastSig = sig;
    session.lastState = { sessionId: session.id, digest: session.digest, positions: new Map(positions), expiresAt };
    return sig;
  }
}

/** An extension error code (§23.8): refused additions only, never an HTTP answer. */
class MuxRefusal extends Error {
  constructor(
    readonly code: 'too-many-streams' | 'stream-id-in-use',
    message: string,
  ) {
    super(message);
  }
}

function refusalOf(error: SspError | MuxRefusal): Refusal['error'] {
  if (error instanceof MuxRefusal) return { code: error.code, message: error.message, retryable: false };
  const { details } = error.extras;
  return { code: error.code, message: error.message, retryable: errorCodeInfo[error.code].retryable, ...(details && { details }) };
}

function streamTermination(end: StreamEnd, last: number): StreamTermination {
  if (end.reason === 'complete') return { reason: 'complete', last, advice: { action: 'none' } };
  return { reason: 'error', last, advice: end.advice === 'reopen' ? { action: 'reopen', delayMs: 1000 } : { action: 'none' }, error: end.error };
}

function advise(reason: 'closed' | 'expired' | 'shutdown'): Advice {
  return reason === 'expired' ? { action: 'reopen' } : { action: 'none' };
}

function restateNeeded(): SspError {
  const error = new SspError('session-expired', 'multiplexed session is not known here (restart or another instance): poll again restating its streams in ext.multiplex.restate');
  error.extras.ext = { [EXTENSION]: { restate: true } };
  return error;
}
