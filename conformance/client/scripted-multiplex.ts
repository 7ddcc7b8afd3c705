// The scripted server's `multiplex` extension (spec §23) for the client kit's multiplex
// scenarios: discovery offers it, an `open` asking for it gets a multiplexed session, and
// each stream (a "lane", named by its params) plays a plain stream of its own — `count`
// events, `perBatch` to a part — with the faults a scenario scripts: a gap, an early end,
// events skipped without a gap, invalid gaps, reopen advice, re-delivered events, a lost
// answer, a refused poll, the session's expiry. Signatures name each live stream with its position.
import { scriptLimits, streamName, type RecordedRequest, type Reply, type ScriptOptions, type ScriptState } from './scripted-server.ts';

const EXTENSION = 'multiplex';

export interface Lane {
  count: number;
  perBatch: number;
  /** At this position the part announces the gap {from, to} (from = position + 1) and goes on after it. */
  gapTo?: { at: number; to: number };
  /** At this position the part goes on after `to` without announcing a gap (a faulty server, SSP-CLIENT-7). */
  skipTo?: { at: number; to: number };
  /**
   * At this position the part is invalid (SSP-CLIENT-19): each poll there gets the next of these
   * gaps and events instead of the stream's own, until they run out.
   */
  invalidGaps?: { at: number; faults: Array<{ gap: { from: number; to: number }; events: number[] }> };
  /**
   * At this position the stream's first instance ends with `error` (code producer-lost) and
   * advice reopen after delayMs; the stream added again under a new id plays from the start.
   */
  reopenAt?: { at: number; delayMs: number };
  /** At this position the stream ends with this reason (advice none) instead of going on. */
  endAt?: { at: number; reason: string };
}

export interface MultiplexScript {
  /** Lanes by name: a stream spec selects one with params {"lane": name}. */
  lanes: Record<string, Lane>;
  /** Every part after a stream's first starts one event early (re-delivery, SSP-MUX-8). */
  duplicates?: boolean;
  /** Answer this poll (the n-th of the run) with 410 session-expired: the session is gone, every stream with it. */
  expireAt?: number;
  /** Answer this poll (the n-th of the run) with 400 bad-request, not retryable; the session goes on. */
  badRequestAt?: number;
  /** Drop the answer to this poll (the n-th poll of the run, and what it carried). */
  drop?(poll: number, request: RecordedRequest): boolean;
}

interface Spec {
  id: string;
  stream: string;
  params: Record<string, unknown>;
}
type Json = Record<string, any>;

const laneOf = (spec: Spec) => (typeof spec.params?.lane === 'string' ? spec.params.lane : undefined);

export function multiplexScript(script: MultiplexScript): ScriptOptions {
  /** Per session: the specs of its streams by id (ids are never reused, SSP-MUX-4). */
  const sessions = new Map<number, Map<string, Spec>>();
  /** Per session: the ids of streams that ended (an id re-added is accepted, never restarted). */
  const ended = new Map<number, Set<string>>();
  const held = new Map<number, (reply: Reply) => void>();
  let opened = 0;
  let pollNumber = 0;
  /** Sessions that expired (expireAt): every later poll of them is answered session-expired. */
  const expired = new Set<number>();
  /** Invalid parts served so far, per lane. */
  const invalidServed = new Map<Lane, number>();
  /** Per lane, its first stream as `session:id` (a stream added again, in any session, is another). */
  const firstStreams = new Map<string, string>();

  const refusal = (spec: Spec, specs: Map<string, Spec>) => {
    const known = specs.get(spec.id);
    if (known) return JSON.stringify(known) === JSON.stringify(spec) ? undefined : { code: 'stream-id-in-use', message: `stream id ${spec.id} names another stream`, retryable: false };
    if (spec.stream !== streamName) return { code: 'unknown-stream', message: `no stream ${spec.stream}`, retryable: false };
    const lane = laneOf(spec);
    if (lane === undefined || !(lane in script.lanes)) return { code: 'invalid-params', message: `params.lane must be one of ${Object.keys(script.lanes).join(', ')}`, retryable: false };
    return undefined;
  };

  /** Adds the specs (SSP-MUX-3/4): the ids added, the refusals. */
  function add(list: Spec[], specs: Map<string, Spec>, positions: Record<string, number>, done: Set<string>) {
    const added: string[] = [];
    const refused: Json[] = [];
    for (const spec of list) {
      const normal = { id: spec.id, stream: spec.stream, params: spec.params ?? {} };
      const error = refusal(normal, specs);
      if (error) refused.push({ id: spec.id, error });
      else {
        if (!(spec.id in positions) && !done.has(spec.id)) positions[spec.id] = 0;
        specs.set(spec.id, normal);
        added.push(spec.id);
      }
    }
    return { added, refused };
  }

  /** One stream's part of an answer, and its position after it (undefined: it ended). */
  function part(id: string, lane: Lane, position: number, first: boolean): { part?: Json; position?: number } {
    const events = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => ({ seq: from + i, data: { n: from + i } }));
    if (lane.reopenAt && first && position >= lane.reopenAt.at) {
      const error = { message: 'scripted producer stopped', code: 'producer-lost' };
      return { part: { id, events: [], termination: { reason: 'error', last: position, advice: { action: 'reopen', delayMs: lane.reopenAt.delayMs }, error } } };
    }
    if (lane.endAt && position >= lane.endAt.at) {
      const error = lane.endAt.reason === 'error' ? { error: { message: 'scripted stream error' } } : {};
      return { part: { id, events: [], termination: { reason: lane.endAt.reason, last: position, advice: { action: 'none' }, ...error } } };
    }
    if (position >= lane.count) return { part: { id, events: [], termination: { reason: 'complete', last: lane.count, advice: { action: 'none' } } } };
    if (lane.gapTo && position === lane.gapTo.at) {
      const last = Math.min(lane.count, lane.gapTo.to + lane.perBatch);
      return { part: { id, gap: { from: position + 1, to: lane.gapTo.to }, events: events(lane.gapTo.to + 1, last) }, position: last };
    }
    const invalid = lane.invalidGaps && position === lane.invalidGaps.at ? lane.invalidGaps.faults[invalidServed.get(lane) ?? 0] : undefined;
    if (invalid) {
      invalidServed.set(lane, (invalidServed.get(lane) ?? 0) + 1);
      // Signed past its events, as if valid: a client that takes it moves on from there.
      return { part: { id, gap: invalid.gap, events: events(invalid.events[0]!, invalid.events.at(-1)!) }, position: invalid.events.at(-1)! };
    }
    if (lane.skipTo && position === lane.skipTo.at) {
      const last = Math.min(lane.count, lane.skipTo.to + lane.perBatch);
      return { part: { id, events: events(lane.skipTo.to + 1, last) }, position: last };
    }
    const last = Math.min(lane.count, position + lane.perBatch);
    const again = script.duplicates && position > 0 ? events(position, position) : [];
    return { part: { id, events: [...again, ...events(position + 1, last)] }, position: last };
  }

  function poll(request: RecordedRequest, state: ScriptState, session: number, positions: Record<string, number>): Reply | Promise<Reply> {
    const specs = sessions.get(session)!;
    const mux = ((request.message?.ext as Json | undefined)?.[EXTENSION] ?? {}) as Json;
    const next: Record<string, number> = { ...positions };
    const parts: Json[] = [];
    for (const id of (mux.remove ?? []) as string[]) {
      if (!(id in next)) continue;
      parts.push({ id, events: [], termination: { reason: 'closed', last: next[id], advice: { action: 'none' } } });
      delete next[id];
      ended.get(session)!.add(id);
    }
    const done = ended.get(session)!;
    const { added, refused } = add((mux.add ?? []) as Spec[], specs, next, done);
    for (const id of Object.keys(next)) {
      const name = laneOf(specs.get(id)!)!;
      if (!firstStreams.has(name)) firstStreams.set(name, `${session}:${id}`);
      const outcome = part(id, script.lanes[name]!, next[id]!, firstStreams.get(name) === `${session}:${id}`);
      if (outcome.part && (outcome.part.events.length > 0 || outcome.part.termination || outcome.part.gap)) parts.push(outcome.part);
      if (outcome.position === undefined) {
        delete next[id];
        done.add(id);
      }
      else next[id] = outcome.position;
    }
    const changes = added.length + refused.length > 0;
    const body = {
      ssp: 1,
      type: 'batch',
      sig: state.sign(session, 0, next),
      events: [],
      ext: { [EXTENSION]: { streams: parts, ...(changes ? { added, refused } : {}) } },
    };
    held.get(session)?.({ status: 200, body: { ...body, sig: state.sign(session, 0, positions), ext: { [EXTENSION]: { streams: [] } } } });
    held.delete(session);
    if (script.drop?.(pollNumber, request)) return { drop: true };
    if (parts.length > 0 || changes) return { status: 200, body };
    // Nothing to say (every stream has ended): hold briefly, or until a newer poll supersedes this one.
    return new Promise((resolve) => {
      held.set(session, resolve);
      setTimeout(() => resolve({ status: 200, body }), scriptLimits.maxHoldMs);
    });
  }

  return {
    count: 0, // An open that does not ask for the extension gets a plain session that completes at once.
    perBatch: 1,
    answer(request, state) {
      const message = request.message;
      if (request.method === 'GET') {
        const plain = state.plain();
        return 'drop' in plain ? plain : { ...plain, body: { ...plain.body, extensions: [EXTENSION], ext: { [EXTENSION]: { maxStreams: 8 } } } };
      }
      if (message?.type === 'open' && Array.isArray(message.extensions) && message.extensions.includes(EXTENSION)) {
        const session = 100 + ++opened;
        const mux = ((message.ext as Json | undefined)?.[EXTENSION] ?? {}) as Json;
        const first: Spec = { id: typeof mux.id === 'string' ? mux.id : '0', stream: String(message.stream), params: (message.params ?? {}) as Record<string, unknown> };
        const error = refusal(first, new Map());
        if (error) return { status: error.code === 'unknown-stream' ? 404 : 422, body: { ssp: 1, type: 'error', ...error } };
        const specs = new Map([[first.id, first]]);
        sessions.set(session, specs);
        ended.set(session, new Set());
        const positions: Record<string, number> = { [first.id]: 0 };
        const { added, refused } = add((mux.add ?? []) as Spec[], specs, positions, ended.get(session)!);
        const body = { ssp: 1, type: 'session', sig: state.sign(session, 0, positions), stream: first.stream, position: 0, extensions: [EXTENSION], ext: { [EXTENSION]: { id: first.id, added, refused } } };
        return { status: 200, body };
      }
      const info = request.sig;
      if (!info?.streams || !sessions.has(info.session)) return undefined;
      if (message?.type === 'poll') {
        if (++pollNumber === script.expireAt) expired.add(info.session);
        if (expired.has(info.session)) return { status: 410, body: { ssp: 1, type: 'error', code: 'session-expired', message: 'scripted: the session expired', retryable: false } };
        if (pollNumber === script.badRequestAt) return { status: 400, body: { ssp: 1, type: 'error', code: 'bad-request', message: 'scripted: refused', retryable: false } };
        return poll(request, state, info.session, info.streams);
      }
      if (message?.type !== 'close') return undefined;
      held.get(info.session)?.({ status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(info.session, 0, info.streams), events: [], ext: { [EXTENSION]: { streams: [] } } } });
      const parts = Object.entries(info.streams).map(([id, last]) => ({ id, events: [], termination: { reason: 'closed', last, advice: { action: 'none' } } }));
      return { status: 200, body: { ssp: 1, type: 'termination', reason: 'closed', sig: state.sign(info.session, 0, {}), last: 0, advice: { action: 'none' }, ext: { [EXTENSION]: { streams: parts } } } };
    },
  };
}
