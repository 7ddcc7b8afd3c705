// What a stream (event producer) is: an async generator function registered by name.
// Producers never see HTTP: they yield event data, which the pump appends to the session's
// event log; the holder reads it from there.

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
  produce: Producer<P>;
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
