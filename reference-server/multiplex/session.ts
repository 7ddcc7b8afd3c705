// A multiplexed session as one process holds it (spec §23): its streams by id, its held poll,
// the newest signature it issued, and its timers. With a durable log this is a copy of the
// session's record in the log's session store (./shared.ts keeps the two in step).
import type { ChannelWatcher } from '../event-log/types.ts';
import type { SspResponse } from '../holder/http.ts';
import type { TimerHandle, TimerTarget } from '../holder/timer-wheel.ts';
import type { MuxStream } from './channel.ts';
import type { Signer } from '../signature.ts';
import { digestOf, signMux } from './signature.ts';
import type { MuxState } from './signature.ts';
import type { StreamSpec } from './wire.ts';

export class MuxPoll {
  timer: TimerHandle | undefined;
  /** Which of its session's polls this is (MuxSession.polls when it arrived). */
  turn = 0;
  constructor(
    readonly res: SspResponse,
    readonly origin: string | undefined,
    readonly positions: Map<string, number>,
  ) {}
}

export class MuxSession implements ChannelWatcher {
  readonly channels = new Map<string, MuxStream>();
  /** The newest signature issued, with what it encodes: a poll carrying it needs no HMAC. */
  lastSig: string | undefined;
  lastState: MuxState | undefined;
  /** The digest of the streams named last (ids joined), reused while they stay the same. */
  #digestIds: string | undefined;
  #digest = '';
  held: MuxPoll | undefined;
  /** Polls received, each noting its turn (an older one finishing an asynchronous read is not held); not the poll itself, which would outlive its answer. */
  polls = 0;
  lastActive = Date.now();
  flushPending = false;
  idleTimer: TimerHandle | undefined;
  rotation = 0;
  idleTarget!: TimerTarget;
  flushTarget!: TimerTarget;
  /** Changes to the streams (additions, removals, the record's news) run one after another. */
  #changing: Promise<unknown> = Promise.resolve();

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

  /**
   * The digest of the streams `positions` names. A stream id names one stream for the
   * session's whole life (§23.2), so the same ids mean the same digest: computed again only
   * when the named streams change.
   */
  digestFor(positions: ReadonlyMap<string, number>): string {
    let ids = '';
    for (const id of positions.keys()) if (this.channels.has(id)) ids += `${id},`;
    if (ids !== this.#digestIds) {
      const specs: StreamSpec[] = [];
      for (const id of positions.keys()) {
        const stream = this.channels.get(id);
        if (stream) specs.push(stream.spec);
      }
      this.#digest = digestOf(specs);
      this.#digestIds = ids;
    }
    return this.#digest;
  }

  /** A fresh signature naming `positions`, kept as the newest issued with what it encodes. */
  sign(signer: Signer, positions: ReadonlyMap<string, number>, expiresAt: number): string {
    const digest = this.digestFor(positions);
    this.lastSig = signMux(signer, this.id, digest, positions, expiresAt);
    this.lastState = { sessionId: this.id, digest, positions: new Map(positions), expiresAt };
    return this.lastSig;
  }

  /** Runs `change` after the changes begun before it: two polls never open one stream twice. */
  serial<T>(change: () => Promise<T>): Promise<T> {
    const result = this.#changing.then(change);
    this.#changing = result.catch(() => {});
    return result;
  }
}
