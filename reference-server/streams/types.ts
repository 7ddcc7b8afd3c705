// What a stream is: an async generator function (a producer, one per session) registered by
// name, or a topic (one shared channel read by every session). Producers never see HTTP: they
// yield event data, which the pump appends to the session's own channel of the event log; the
// holder reads it from there.

export interface ProducerContext {
  /** Aborted when the session closes, expires or the server shuts down: stop producing. */
  signal: AbortSignal;
  /** Position to resume after: 0 for a new session, p when a resumable session is re-created at p. */
  from: number;
}

/**
 * Yields event data (any JSON value; a `SerializedData` is used as is, unserialized again).
 * Returning ends the stream with termination `complete`; throwing ends it with `error`
 * (throw a `StreamError` to choose its code and advice).
 */
export type Producer<P = Record<string, unknown>> = (params: P, context: ProducerContext) => AsyncIterable<unknown>;

export interface StreamDefinition<P = any> {
  description: string;
  /** JSON Schema (2020-12) of the params; shown in discovery, checked at open (invalid-params). */
  params: Record<string, unknown>;
  /** Resumable streams can restart at any position (`from`), so signatures survive a restart. */
  resumable?: boolean;
  /** Most sessions producing at once; more opens get too-many-sessions. */
  maxConcurrent?: number;
  /** The session's own producer. Exactly one of `produce` and `topic` is given. */
  produce?: Producer<P>;
  /**
   * Instead of a producer: every session of this stream reads the shared event-log channel
   * of this topic (appended to by publish), from the head at its open.
   */
  topic?: string;
}

/** Thrown by a producer to end its stream with termination `error` and chosen advice. */
export class StreamError extends Error {
  readonly code: string | undefined;
  readonly advice: 'none' | 'reopen';

  constructor(message: string, options: { code?: string; advice?: 'none' | 'reopen' } = {}) {
    super(message);
    this.name = 'StreamError';
    this.code = options.code;
    this.advice = options.advice ?? 'reopen';
  }
}
