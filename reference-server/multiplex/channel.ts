// One stream of a multiplexed session: the event-log channel it reads at its own cursor
// (per-stream seq, retention and gaps, exactly as an SSP/1 session's: its own channel, or a
// topic's shared one read from `base`), and its producer; or, once it has ended, the
// termination that every later signature naming it gets again (spec §23.5).
import type { StreamRecord } from '../event-log/session-store.ts';
import type { Channel, ChannelWatcher, EventLog } from '../event-log/types.ts';
import { isPromise } from '../event-log/types.ts';
import { canonicalJson } from '../signature.ts';
import type { RunningProducer } from '../streams/pump.ts';
import type { StreamSpec, StreamTermination } from './wire.ts';

export interface Reading {
  channel: Channel;
  /** Channel seq of this stream's position 0 (a topic's head when the stream was added). */
  base: number;
  /** Whether the channel is this stream's own (deleted when the stream ends). */
  own: boolean;
  producer: RunningProducer | undefined;
  /** With a durable log: the name of its producer's lease (one instance runs it). */
  lease: string | undefined;
  watcher: ChannelWatcher;
}

export class MuxStream {
  /** Set once the stream has ended; the channel is no longer read then. */
  termination: StreamTermination | undefined;
  readonly #paramsJson: string;

  constructor(
    /** As the client sent it: the signature's digest covers exactly this. */
    readonly spec: Required<StreamSpec>,
    readonly reading: Reading | undefined,
  ) {
    this.#paramsJson = canonicalJson(spec.params);
  }

  get id(): string {
    return this.spec.id;
  }

  /** Stream position of the newest event (0 before any). */
  get head(): number {
    return this.reading ? this.reading.channel.head - this.reading.base : 0;
  }

  /** The same addition again (a retry whose answer was lost), not a clash of ids. */
  sameAs(spec: StreamSpec): boolean {
    return spec.stream === this.spec.stream && canonicalJson(spec.params ?? {}) === this.#paramsJson;
  }

  /** What the session's record keeps of it (a durable log's session store). */
  get record(): StreamRecord {
    const { id, stream, params } = this.spec;
    return { id, stream, params, base: this.reading?.base ?? 0, ...(this.termination && { termination: this.termination }) };
  }

  /** Ends the stream: stops its producer and its reading (free() then frees its own channel). */
  end(termination: StreamTermination, log: EventLog): void {
    if (this.termination) return;
    this.termination = termination;
    this.detach(log);
  }

  /** This process stops running and reading it (the stream may go on elsewhere, or after a restart). */
  detach(log: EventLog): void {
    const reading = this.reading;
    if (!reading) return;
    reading.producer?.stop();
    reading.producer = undefined;
    if (reading.lease !== undefined) log.sessions?.releaseProducer(reading.lease);
    reading.channel.unwatch(reading.watcher);
    // Its own channel is read by no one else here: this process's copy goes (storage stays).
    if (!reading.own) return;
    const released = log.release?.(reading.channel.name);
    if (isPromise(released)) released.catch((error: unknown) => console.error('xanjax: cannot release a multiplexed stream channel:', error));
  }

  /** Deletes its own channel (once its end is remembered, or with the session). */
  free(log: EventLog): void {
    if (!this.reading?.own) return;
    const deleted = log.delete(this.reading.channel.name);
    if (isPromise(deleted)) deleted.catch((error: unknown) => console.error('xanjax: cannot free a multiplexed stream channel:', error));
  }

  /** A stream that was already over when the session record was made (restated, not resumable). */
  static ended(spec: Required<StreamSpec>, termination: StreamTermination): MuxStream {
    const stream = new MuxStream(spec, undefined);
    stream.termination = termination;
    return stream;
  }
}
