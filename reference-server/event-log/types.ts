// Event log v2: where the HTTP holder and the event producers meet (and the only place).
//
// The design follows nchan and Redis Streams: an event log holds named *channels*; a channel
// is ONE append-only sequence of events, stored once, that any number of readers read at
// their own cursor. Per-reader state is a position (an integer the holder keeps, and the
// session signature encodes), never a queue or a copy of the events.
//
// - A topic is one shared channel (`topic:<name>`): publishing appends once, whatever the
//   number of sessions reading it; retention is by `retainEvents` (the newest are kept).
// - A per-session stream (annex, exec, the host's producers) is a channel of its own
//   (`session:<session id>`) with a single reader, whose acknowledgements free its events.
// - A channel's termination record (`ended`) lives on the channel: readers see it once they
//   have read every event.
// - Waking held polls: the holder registers one watcher per session for the session's life
//   (not per poll, not per event); an append calls `onChannelChange()` on each watcher
//   synchronously, and the holder batches the wake-ups. No promise or generator per session
//   per event.
// - Reads, appends and opening a channel may be asynchronous (`MaybePromise`): file- and
//   Redis-backed logs return promises, the memory log answers synchronously and callers take
//   the synchronous path when they get a plain value.
//
// Implementations: memory (./memory.ts, the default). File and Redis logs implement the same
// two interfaces, EventLog and Channel.

import type { SessionStore } from './session-store.ts';

export type MaybePromise<T> = T | Promise<T>;

/**
 * Event data serialized once (JSON text and its UTF-8 size), however many sessions read it:
 * a topic event fanned out to N sessions is stringified a single time and stored once.
 */
export class SerializedData {
  constructor(
    readonly json: string,
    readonly bytes: number,
  ) {}

  static of(value: unknown): SerializedData {
    if (value instanceof SerializedData) return value;
    // `data` is any JSON value; `undefined` has no JSON form, so it travels as null.
    const json = JSON.stringify(value) ?? 'null';
    return new SerializedData(json, Buffer.byteLength(json));
  }
}

/** One stored event: its channel seq and its data, serialized once. */
export interface StoredEvent {
  /** Position of the event in its channel (head after its append). */
  readonly seq: number;
  readonly data: SerializedData;
}

/** How a stream ended (spec §12-§14); `closed`, `expired` and `shutdown` are the holder's. */
export type StreamEnd =
  | { reason: 'complete' }
  | { reason: 'error'; error: { message: string; code?: string }; advice: 'none' | 'reopen' };

export interface ReadLimits {
  /** At most this many events. */
  maxEvents: number;
  /**
   * At most this many bytes of wire events (`eventWireBytes`) plus one comma between
   * events; a single event may exceed it alone (it is always returned).
   */
  maxBytes: number;
  /**
   * The reader's seq numbers are channel seqs minus `base` (a session reading a shared
   * channel starts at its own position 0, spec SSP-OPEN-3); byte sizes count those seqs.
   * Default 0.
   */
  base?: number;
}

export interface ReadResult {
  /** Consecutive events starting at the first retained seq after the position (a result may be shared by readers: never changed). */
  readonly events: readonly StoredEvent[];
  /** Set when events after the position were evicted: `{from: p+1, to: r-1}` (spec §9), in channel seqs. */
  readonly gap?: { readonly from: number; readonly to: number };
}

/** Who reads a channel, which decides its retention. */
export type ChannelReaders =
  /** One reader (a session's own stream): its acknowledgements free events (spec §9). */
  | 'single'
  /** Any number of readers (a topic): the newest `retainEvents` are kept; acknowledgements are ignored. */
  | 'shared';

export interface ChannelOptions {
  readers: ChannelReaders;
  /** Keep at least this many newest unacknowledged events (limits.retainEvents). */
  retainEvents: number;
  /** Head of a channel created by this call: 0 for a new session, p when a session is resumed at p. */
  startAt: number;
}

/** Told when a channel changes (an append, or its end). Called synchronously; must be cheap. */
export interface ChannelWatcher {
  onChannelChange(): void;
}

export interface Channel {
  readonly name: string;
  /** Seq of the newest appended event known to this process (the start position if none). */
  readonly head: number;
  /** Set once the channel has ended; no append follows. */
  readonly ended: StreamEnd | undefined;
  /** Sessions (watchers) reading this channel now. */
  readonly readers: number;
  /** Appends one event; resolves to its seq (head + 1). Ignored (returns head) after end. */
  append(data: SerializedData): MaybePromise<number>;
  /** Records that the channel ended after the current head, and wakes its readers. */
  end(end: StreamEnd): MaybePromise<void>;
  /**
   * Events with seq > position, within limits; a gap instead of a silent skip when events
   * after the position were evicted (spec §9: `{from: position+1, to: oldest-1}`).
   */
  read(position: number, limits: ReadLimits): MaybePromise<ReadResult>;
  /**
   * Single-reader channels: the reader holds every seq <= position, so the log may drop
   * them (keeping the last acknowledged batch for re-delivery). Shared channels ignore it.
   */
  acknowledge(position: number): void;
  /** Registers a watcher until unwatch; one per session, for the session's life. */
  watch(watcher: ChannelWatcher): void;
  unwatch(watcher: ChannelWatcher): void;
}

export interface EventLog {
  /** Opens the channel of that name, creating it with `options` when it does not exist. */
  channel(name: string, options: ChannelOptions): MaybePromise<Channel>;
  /** Frees a channel and its events (a finished session's own channel). */
  delete(name: string): MaybePromise<void>;
  /**
   * Frees only what this process keeps for a channel (its copy, its wake subscription) and
   * leaves what is stored: for a session's own channel once the session goes on, or ended, on
   * another instance. Logs shared by several server instances (Redis) have it; a later
   * `channel()` opens the channel again.
   */
  release?(name: string): MaybePromise<void>;
  /** Frees everything (server shutdown); later appends are ignored. */
  close(): MaybePromise<void>;
  /**
   * Durable logs (file, Redis): sessions' terminations, records and producer leases, kept
   * beside the events so a restart or another instance continues every session and never
   * re-creates a finished one (./session-store.ts). Absent for the memory log.
   */
  readonly sessions?: SessionStore;
  /**
   * Durable logs: where the log lives, as `--log` names it (`file:/abs/DIR`, `redis://HOST:PORT`,
   * credentials left out), so other processes can publish there (`xanjax publish --log …`).
   */
  readonly location?: string;
}

/** Channel names: a session's own stream, and a topic. */
export const sessionChannel = (sessionId: string): string => `session:${sessionId}`;
export const topicChannel = (topic: string): string => `topic:${topic}`;

/** `{"seq":` + `,"data":` + `}` */
const EVENT_ENVELOPE_BYTES = 16;

/** UTF-8 size of `{"seq":<seq - base>,"data":<data>}`, the event as a batch carries it. */
export function eventWireBytes(event: StoredEvent, base: number): number {
  return EVENT_ENVELOPE_BYTES + digits(event.seq - base) + event.data.bytes;
}

/** Decimal digits of a non-negative safe integer. */
export function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Tells whether a MaybePromise is a promise (any thenable). */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
