// Changes to a multiplexed session's streams (spec §23.2, §23.6): additions, each accepted or
// refused on its own, removals, and re-creation from a poll that restates the streams. What
// changed is recorded (./shared.ts) before the poll that asked for it is answered.
import { errorCodeInfo } from '../../schemas/index.ts';
import { SspError } from '../errors.ts';
import { MuxStream } from './channel.ts';
import { openStream } from './open-stream.ts';
import type { StreamContext } from './open-stream.ts';
import type { MuxSession } from './session.ts';
import { record } from './shared.ts';
import { digestOf } from './signature.ts';
import type { MuxState } from './signature.ts';
import { EXTENSION } from './wire.ts';
import type { PollExt, Refusal, StreamSpec } from './wire.ts';

export interface ChangeContext extends StreamContext {
  /** Most live streams per session (discovery ext.multiplex.maxStreams). */
  maxStreams: number;
}

export interface Changes {
  added: string[];
  refused: Refusal[];
}

/** §23.3: a poll's additions and removals, each answered on its own, recorded before the answer. */
export async function change(ctx: ChangeContext, session: MuxSession, positions: Map<string, number>, ext: PollExt): Promise<Changes> {
  const changes = await add(ctx, session, ext.add ?? []);
  for (const id of changes.added) if (!positions.has(id)) positions.set(id, 0);
  const changed = changes.added.map((id) => session.channels.get(id)!);
  for (const id of ext.remove ?? []) {
    const stream = session.channels.get(id);
    if (!stream || !positions.has(id)) continue;
    // `last` is the position this poll's signature holds: later events are not delivered (§23.4).
    stream.end({ reason: 'closed', last: positions.get(id)!, advice: { action: 'none' } }, ctx.log);
    changed.push(stream);
  }
  await record(ctx, session, changed);
  return changes;
}

/** §23.3: each addition accepted or refused on its own; a repeated identical one is accepted again. */
export async function add(ctx: ChangeContext, session: MuxSession, specs: StreamSpec[]): Promise<Changes> {
  const changes: Changes = { added: [], refused: [] };
  for (const spec of specs) {
    const existing = session.channels.get(spec.id);
    try {
      if (existing) {
        if (!existing.sameAs(spec)) throw new MuxRefusal('stream-id-in-use', `stream id '${spec.id}' already names another stream of this session`);
      } else {
        if (session.live >= ctx.maxStreams) throw new MuxRefusal('too-many-streams', `a session carries at most ${ctx.maxStreams} live streams`);
        // Ended streams stay in the record (their termination is repeatable): bound them too.
        if (session.channels.size >= 4 * ctx.maxStreams) throw new MuxRefusal('too-many-streams', 'this session has used up its stream ids; open a new session');
        const full = { id: spec.id, stream: spec.stream, params: spec.params ?? {} };
        session.channels.set(spec.id, await openStream(ctx, session, full, { position: 0, continued: false }));
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
 * §23.6, SSP-MUX-14: the streams a restating poll names, if they are exactly those its
 * signature names. The client may restate more (ones whose termination it has, or is still
 * adding): only the named ones count, and the digest must match them.
 */
export function restated(state: MuxState, restate: StreamSpec[]): StreamSpec[] {
  const specs = restate.filter((spec) => state.positions.has(spec.id));
  const ids = new Set(specs.map((spec) => spec.id));
  if (ids.size !== specs.length || ids.size !== state.positions.size || digestOf(specs) !== state.digest) {
    throw new SspError('bad-request', "ext.multiplex.restate does not match the streams the signature names (each once, with the session's exact names and params)");
  }
  return specs;
}

/**
 * §23.6: the record is gone, the signature is valid, and the poll restated its streams:
 * resumable streams resume at their positions, the others end with `expired` and advice `reopen`.
 */
export async function restate(ctx: StreamContext, session: MuxSession, state: MuxState, specs: StreamSpec[]): Promise<void> {
  for (const spec of specs) {
    const full: Required<StreamSpec> = { id: spec.id, stream: spec.stream, params: spec.params ?? {} };
    const position = state.positions.get(spec.id)!;
    const stream = ctx.registry.get(spec.stream);
    let resumed: MuxStream | undefined;
    if (stream?.resumable && stream.definition.topic === undefined) {
      try {
        resumed = await openStream(ctx, session, full, { position, continued: false });
      } catch {
        resumed = undefined;
      }
    }
    session.channels.set(spec.id, resumed ?? MuxStream.ended(full, { reason: 'expired', last: position, advice: { action: 'reopen' } }));
  }
  // A durable log that lost the record gets it again.
  await record(ctx, session, [...session.channels.values()]);
}

/** `session-expired` that asks for a restating poll (§23.6). */
export function restateNeeded(): SspError {
  const error = new SspError('session-expired', 'multiplexed session is not known here (restart or another instance): poll again restating its streams in ext.multiplex.restate');
  error.extras.ext = { [EXTENSION]: { restate: true } };
  return error;
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
