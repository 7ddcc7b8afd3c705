// The event log is where the HTTP holder and the event producers meet (and the only place):
// a producer appends to a session's log, the holder reads from it and waits on it.
// Implementations: memory (this issue); file- and Redis-backed logs fit the same shape.

/**
 * Event data serialized once (JSON text and its UTF-8 size), however many session logs
 * receive it: a topic event fanned out to N sessions is stringified a single time.
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

/** One stored event: `json` is the wire text `{"seq":n,"data":…}`, `bytes` its UTF-8 size. */
export interface StoredEvent {
  readonly seq: number;
  readonly json: string;
  readonly bytes: number;
}

/** How a stream ended (spec §12-§14); `closed`, `expired` and `shutdown` are the holder's. */
export type StreamEnd =
  | { reason: 'complete' }
  | { reason: 'error'; error: { message: string; code?: string }; advice: 'none' | 'reopen' };

export interface ReadLimits {
  /** At most this many events. */
  maxEvents: number;
  /** Sum of event bytes plus one comma between events; a single event may exceed it alone. */
  maxBytes: number;
}

export interface ReadResult {
  /** Consecutive events starting at the first retained seq after the position. */
  events: StoredEvent[];
  /** Set when events after the position were evicted: `{from: p+1, to: r-1}` (spec §9). */
  gap?: { from: number; to: number };
}

export interface EventLog {
  /** Seq of the newest appended event (the start position if none). */
  readonly head: number;
  /** Set once the stream has ended; no append follows. */
  readonly ended: StreamEnd | undefined;
  /** Appends one event; returns its seq (head + 1). */
  append(data: SerializedData): number;
  /** Records that the stream ended after the current head. */
  end(end: StreamEnd): void;
  /** Events with seq > position, within limits; signals a gap instead of skipping silently. */
  read(position: number, limits: ReadLimits): ReadResult;
  /** The reader holds every seq <= position; the log may drop acknowledged events. */
  acknowledge(position: number): void;
  /** Calls listener after every append and at the end; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Frees everything; later appends are ignored. */
  dispose(): void;
}

export interface EventLogOptions {
  /** Keep at least this many newest unacknowledged events (limits.retainEvents). */
  retainEvents: number;
  /** Seq of the event before the first append: 0 for a new session, p when resumed at p. */
  startAt: number;
}

export type EventLogFactory = (options: EventLogOptions) => EventLog;
