// Starts one stream of a multiplexed session: its channel (its own, or a topic's shared one)
// and its producer. With a durable log the producer runs on one instance at a time, under
// the same lease as a plain session's (SessionStore.claimProducer), named after the stream's
// own channel; a stream continued from the session's record whose producer cannot resume
// ends with error `producer-lost`, advice reopen, as a plain session does (spec §18.4).
import { SspError } from '../errors.ts';
import type { EventLog } from '../event-log/types.ts';
import { isPromise, sessionChannel, topicChannel } from '../event-log/types.ts';
import type { Limits } from '../limits.ts';
import { startProducer } from '../streams/pump.ts';
import type { RegisteredStream, StreamRegistry } from '../streams/registry.ts';
import { MuxStream } from './channel.ts';
import type { MuxSession } from './session.ts';
import type { StreamSpec } from './wire.ts';

export interface StreamContext {
  registry: StreamRegistry;
  log: EventLog;
  limits: Limits;
  retryAfterMs: number;
}

export interface StartAt {
  /** The stream's position in the signature that asked for it (0 for a new stream). */
  position: number;
  /** Its base as the session's record keeps it (a topic's head when it was added); else the channel's now. */
  base?: number | undefined;
  /** Continued from the record (a restart, another instance): its producer may have run before. */
  continued: boolean;
}

/**
 * Throws the typed error `open` would answer. `spec` keeps the params as the client sent them
 * (the digest covers those); the producer gets them checked, defaults filled in.
 */
export async function openStream(ctx: StreamContext, session: MuxSession, spec: Required<StreamSpec>, at: StartAt): Promise<MuxStream> {
  const stream = ctx.registry.get(spec.stream);
  if (!stream) throw new SspError('unknown-stream', `stream '${spec.stream}' is not offered here (see discovery)`);
  const params = stream.checkParams(structuredClone(spec.params));
  const { maxConcurrent, topic } = stream.definition;
  if (maxConcurrent !== undefined && stream.active >= maxConcurrent) {
    throw new SspError('too-many-sessions', `stream '${stream.name}' runs at most ${maxConcurrent} sessions at once`, { retryAfterMs: ctx.retryAfterMs });
  }
  const { retainEvents } = ctx.limits;
  const own = `${session.id}/${spec.id}`;
  const opening =
    topic === undefined
      ? ctx.log.channel(sessionChannel(own), { readers: 'single', retainEvents, startAt: at.position })
      : ctx.log.channel(topicChannel(topic), { readers: 'shared', retainEvents, startAt: 0 });
  const channel = isPromise(opening) ? await opening : opening;
  channel.watch(session);
  const lease = ctx.log.sessions && stream.definition.produce ? own : undefined;
  const base = at.base ?? (topic === undefined ? 0 : channel.head);
  const muxStream = new MuxStream(spec, { channel, base, own: topic === undefined, producer: undefined, lease, watcher: session });
  if (stream.definition.produce) await runProducer(ctx, muxStream, stream, params, at.continued);
  return muxStream;
}

/** From the channel's head: what is already appended stays (with the memory log, the head is the position). */
function runProducer(ctx: StreamContext, muxStream: MuxStream, stream: RegisteredStream, params: Record<string, unknown>, continued: boolean): Promise<void> | void {
  const reading = muxStream.reading!;
  const run = () => {
    if (muxStream.termination || reading.producer || reading.channel.ended) return;
    if (continued && !stream.resumable) {
      const lost = { message: 'the producer of this stream stopped with its server instance and cannot resume; add it again', code: 'producer-lost' };
      const ended = reading.channel.end({ reason: 'error', error: lost, advice: 'reopen' });
      if (isPromise(ended)) ended.catch((error: unknown) => console.error('xanjax: event log end failed:', error));
      return;
    }
    reading.producer = startProducer(stream, params, reading.channel, reading.channel.head - reading.base);
  };
  const store = ctx.log.sessions;
  if (!store || reading.lease === undefined) return run();
  const claimed = store.claimProducer(reading.lease, run, () => {
    reading.producer?.stop();
    reading.producer = undefined;
  });
  return isPromise(claimed) ? claimed : undefined;
}
