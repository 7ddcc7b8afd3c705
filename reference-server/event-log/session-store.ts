// What a durable event log keeps about sessions, beside their events, so that a restart
// (file) or another instance (Redis) continues them: remembered terminations (restart safety,
// spec §18.4: a closed, completed or expired session is never re-created), live session
// records (a topic session's base cannot be derived from its signature; a multiplexed
// session's streams are not in its signature at all), and which instance runs a session's
// producer. The memory log has none of this: it lives and dies with the process.
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';
import type { MaybePromise } from './types.ts';

export interface SessionRecord {
  stream: string;
  params: Record<string, unknown>;
  /** Channel seq of the session's position 0 (a topic's head when the session opened; else 0). */
  base: number;
}

/** One stream of a multiplexed session (spec §23.6), as the session's record keeps it. */
export interface StreamRecord {
  id: string;
  stream: string;
  /** As the client sent them: the signature's digest covers exactly these. */
  params: Record<string, unknown>;
  /** Channel seq of the stream's position 0 (a topic's head when the stream was added; else 0). */
  base: number;
  /** Set once the stream has ended: repeated to every signature that still names it (SSP-MUX-10). */
  termination?: { reason: TerminationMessage['reason']; last: number; advice: Advice; error?: TerminationMessage['error'] };
}

/** A signing key a server of this log signed with: its public id and when (never the secret). */
export interface SigningKeyRecord {
  id: string;
  /** When a server first recorded signing with it (ms since the epoch). */
  firstSigned: number;
  /** When a server last recorded signing with it (recorded every few minutes while it signs). */
  lastSigned: number;
}

export interface SessionStore {
  /** Several processes use it at once (Redis): any of them may end a session. */
  readonly shared: boolean;
  /** The remembered termination answer of a session, if any. */
  termination(sessionId: string): MaybePromise<string | undefined>;
  /** Remembers a termination answer for memoryMs (the first one remembered wins); durable once settled. */
  rememberTermination(sessionId: string, body: string, memoryMs: number): MaybePromise<void>;
  /** Records a live session, to be continued after a restart or on another instance; durable once settled. */
  saveSession(sessionId: string, record: SessionRecord, lifetimeMs: number): MaybePromise<void>;
  loadSession(sessionId: string): MaybePromise<SessionRecord | undefined>;
  /**
   * A multiplexed session's record: merges `streams` into it (creating it), live for
   * lifetimeMs as saveSession's. A stream id is recorded once (its first record wins, base
   * included) and a stream's termination, once recorded, stays (the first one wins), so
   * instances that update one record at once agree on it. Resolves to the merged streams;
   * durable once settled. The session's other state (touchSession, termination, leases) is
   * kept as for any session.
   */
  mergeStreams(sessionId: string, streams: readonly StreamRecord[], lifetimeMs: number): MaybePromise<StreamRecord[]>;
  /** A live multiplexed session's streams (ended ones included), if it has a record. */
  loadStreams(sessionId: string): MaybePromise<StreamRecord[] | undefined>;
  /**
   * A request of the session began or ended here: it stays live for lifetimeMs more, wherever
   * it is polled next. `pollAt`: a poll at that position arrived, which supersedes a poll of
   * the session held on another instance at that position or an earlier one (SSP-HOLD-10/11).
   */
  touchSession(sessionId: string, lifetimeMs: number, pollAt?: number): void;
  /** True when a request of the session began or ended on any instance within the last `idleMs`, or a poll of it is held. */
  sessionActive(sessionId: string, idleMs: number): MaybePromise<boolean>;
  /** A poll of the session is held here for up to holdMs (so another instance can supersede it). */
  holding(sessionId: string, holdMs: number): void;
  /**
   * Tells `listener` when another instance received a poll at `position` of a session whose
   * poll is held here (`poll`: supersede it unless it is at a later position), or ended it
   * (`end`: its termination is remembered).
   */
  onRemote(listener: (sessionId: string, what: 'poll' | 'end', position?: number) => void): void;
  /**
   * Runs the session's producer on exactly one instance: `start` is called once this process
   * holds the session's producer lease (at once, or when another instance's lease lapses
   * because it died), `lost` when this process loses it (the producer must stop then; the
   * lease is sought again). Until releaseProducer. Settles once the first attempt is decided,
   * so that a session opened here answers after its producer's first run (spec §20.4).
   */
  claimProducer(sessionId: string, start: () => void, lost: () => void): MaybePromise<void>;
  releaseProducer(sessionId: string): void;
  /** The signing keys recorded in this log (key rotation survives restarts; spec SSP-SECURITY-7). */
  signingKeys(): MaybePromise<SigningKeyRecord[]>;
  /** Records that a server signs with key `id` at time `at` (keeps the first time, raises the last). */
  recordSigningKey(id: string, at: number): MaybePromise<void>;
}
