// One stream of a multiplexed session: its own event log (per-stream seq, retention and
// gaps, exactly as an SSP/1 session's) and its producer, or, once it has ended, the
// termination that every later signature naming it gets again (spec §23.5).
import type { EventLog } from '../event-log/types.ts';
import { canonicalJson } from '../signature.ts';
import type { RunningProducer } from '../streams/pump.ts';
import type { RegisteredStream } from '../streams/registry.ts';
import type { StreamSpec, StreamTermination } from './wire.ts';

export class Channel {
  /** Set once the stream has ended; the log and producer are gone then. */
  termination: StreamTermination | undefined;
  readonly #paramsJson: string;

  constructor(
    readonly spec: Required<StreamSpec>,
    readonly stream: RegisteredStream | undefined,
    readonly log: EventLog | undefined,
    readonly producer: RunningProducer | undefined,
  ) {
    this.#paramsJson = canonicalJson(spec.params);
  }

  get id(): string {
    return this.spec.id;
  }

  /** The same addition again (a retry whose answer was lost), not a clash of ids. */
  sameAs(spec: StreamSpec): boolean {
    return spec.stream === this.spec.stream && canonicalJson(spec.params ?? {}) === this.#paramsJson;
  }

  /** Ends the stream: stops its producer, frees its log, remembers the termination. */
  end(termination: StreamTermination): void {
    if (this.termination) return;
    this.termination = termination;
    this.producer?.stop();
    this.log?.dispose();
  }

  /** A stream that was already over when the channel was made (restated, not resumable). */
  static ended(spec: Required<StreamSpec>, termination: StreamTermination): Channel {
    const channel = new Channel(spec, undefined, undefined, undefined);
    channel.termination = termination;
    return channel;
  }
}
