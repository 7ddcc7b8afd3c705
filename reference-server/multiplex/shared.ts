// A multiplexed session's record in a durable log's session store (spec §23.6): its streams'
// ids, names, params, bases and terminations, which the signature does not carry. Every
// change is merged into the record before it is answered; a process without the session (a
// restart, another instance) continues it from the record, and with a log shared by
// instances every poll first brings this process's copy in step with the record.
import { SspError } from '../errors.ts';
import type { StreamRecord } from '../event-log/session-store.ts';
import { MuxStream } from './channel.ts';
import { openStream } from './open-stream.ts';
import type { StreamContext } from './open-stream.ts';
import type { MuxSession } from './session.ts';

/** Stores what changed (additions, ends), then frees the own channels of the streams that ended. */
export async function record(ctx: StreamContext, session: MuxSession, changed: readonly MuxStream[]): Promise<void> {
  const store = ctx.log.sessions;
  if (store && changed.length > 0) {
    const { idleTimeoutMs, maxHoldMs } = ctx.limits;
    const merged = store.mergeStreams(session.id, changed.map((stream) => stream.record), idleTimeoutMs + maxHoldMs);
    await follow(ctx, session, await merged);
  }
  // Recorded: every instance now answers an end from the record, and the channel can go.
  // (Had the record not been written, the channel's own end marker would still tell them.)
  for (const stream of changed) if (stream.termination) stream.free(ctx.log);
}

/**
 * Brings this process's copy in step with the record: streams added elsewhere are opened
 * from their recorded base (a continued producer, see openStream), at the position
 * `positions` gives them; streams ended elsewhere end here with the recorded termination
 * (the first one recorded wins everywhere); a topic stream that two instances added at once
 * reads from the recorded base.
 */
export async function follow(ctx: StreamContext, session: MuxSession, records: readonly StreamRecord[], positions?: ReadonlyMap<string, number>): Promise<void> {
  for (const recorded of records) {
    const local = session.channels.get(recorded.id);
    if (!local) session.channels.set(recorded.id, await continueStream(ctx, session, recorded, positions?.get(recorded.id) ?? 0));
    else if (recorded.termination) {
      if (local.termination) local.termination = recorded.termination;
      else local.end(recorded.termination, ctx.log);
    } else if (local.reading && !local.termination) local.reading.base = recorded.base;
  }
}

async function continueStream(ctx: StreamContext, session: MuxSession, recorded: StreamRecord, position: number): Promise<MuxStream> {
  const spec = { id: recorded.id, stream: recorded.stream, params: recorded.params };
  if (recorded.termination) return MuxStream.ended(spec, recorded.termination);
  try {
    return await openStream(ctx, session, spec, { position, base: recorded.base, continued: true });
  } catch (error) {
    // A stream this server no longer offers, or whose params it now refuses: over, add it again (as restating does).
    if (error instanceof SspError && (error.code === 'unknown-stream' || error.code === 'invalid-params')) {
      return MuxStream.ended(spec, { reason: 'expired', last: position, advice: { action: 'reopen' } });
    }
    throw error;
  }
}
