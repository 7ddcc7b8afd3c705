// What one answer of a multiplexed session carries (spec §23.4): for every stream the
// signature names, its next events, a gap, or its termination, sharing the batch's limits
// fairly: round robin, one event per stream per round, starting at a rotating stream, so a
// busy stream cannot crowd out the others (SSP-MUX-12). Reading may be asynchronous (file
// and Redis logs): `gather` reads, `assemble` decides.
import type { MaybePromise, ReadResult, StoredEvent } from '../event-log/types.ts';
import { eventWireBytes, isPromise } from '../event-log/types.ts';
import type { Advice } from '../../schemas/types.gen.ts';
import type { Changes } from './changes.ts';
import type { MuxStream } from './channel.ts';
import { EXTENSION } from './wire.ts';
import type { StreamPart, StreamTermination } from './wire.ts';

export interface Limits {
  maxBatchEvents: number;
  maxBatchBytes: number;
}

export interface Assembled {
  /** Parts with something to say, as wire JSON. */
  parts: string[];
  /** Positions for the new signature: streams whose termination was sent are left out. */
  positions: Map<string, number>;
}

/** Room kept for the envelope and the longest signature (2048), and per stream part. */
const ENVELOPE_RESERVE = 2400;
const PART_RESERVE = 96;

export function budgetBytes(limits: Limits, streams: number): number {
  return Math.max(0, limits.maxBatchBytes - ENVELOPE_RESERVE - PART_RESERVE * streams);
}

interface Live {
  id: string;
  reading: NonNullable<MuxStream['reading']>;
  position: number;
  /** Events the channel's head says are ready after the position. */
  ready: number;
}

/**
 * Reads every live stream the positions name, each at most its share of one batch: the
 * round robin of `assemble` gives no stream more than `level` events while another has
 * `level` ready, so a stream with more ready is read for `level` events only, not a whole
 * batch each (with k busy streams, k batches' worth read for one sent). A head is what this
 * process knows of its channel; should a stream read in full bring more than `level` events
 * (appended elsewhere meanwhile), the shortened ones are read again in full, so the shares
 * are never less than the round robin needs.
 */
export function gather(positions: ReadonlyMap<string, number>, streams: ReadonlyMap<string, MuxStream>, limits: Limits): MaybePromise<Map<string, ReadResult>> {
  const maxBytes = budgetBytes(limits, positions.size);
  const live: Live[] = [];
  for (const [id, position] of positions) {
    const stream = streams.get(id);
    if (!stream?.reading || stream.termination) continue;
    live.push({ id, reading: stream.reading, position, ready: Math.max(0, stream.reading.channel.head - stream.reading.base - position) });
  }
  const level = shareLevel(live, limits.maxBatchEvents);
  const read = (stream: Live, maxEvents: number) => stream.reading.channel.read(stream.reading.base + stream.position, { maxEvents, maxBytes, base: stream.reading.base });
  const first = collect(live.map((stream) => read(stream, stream.ready > level ? level : limits.maxBatchEvents)));
  const complete = (results: ReadResult[]): MaybePromise<Map<string, ReadResult>> => {
    const shortened = live.filter((stream) => stream.ready > level);
    const beyond = live.some((stream, i) => stream.ready <= level && results[i]!.events.length > level);
    if (!beyond || shortened.length === 0) return new Map(live.map((stream, i) => [stream.id, results[i]!]));
    const again = collect(live.map((stream, i) => (stream.ready > level ? read(stream, limits.maxBatchEvents) : results[i]!)));
    return isPromise(again) ? again.then((all) => new Map(live.map((stream, i) => [stream.id, all[i]!]))) : new Map(live.map((stream, i) => [stream.id, again[i]!]));
  };
  return isPromise(first) ? first.then(complete) : complete(first);
}

/** The least level L at which streams taking min(ready, L) each fill maxEvents (at least 1). */
function shareLevel(live: readonly Live[], maxEvents: number): number {
  const ready = live.map((stream) => stream.ready).sort((a, b) => a - b);
  let left = maxEvents;
  for (let i = 0; i < ready.length; i++) {
    const others = ready.length - i;
    // Every stream from i on has at least ready[i]: can they fill what is left at that level?
    if (ready[i]! * others >= left) return Math.max(1, Math.ceil(left / others));
    left -= ready[i]!;
  }
  return maxEvents;
}

/** Every value, at once when none is a promise. */
function collect<T>(values: Array<MaybePromise<T>>): MaybePromise<T[]> {
  return values.some(isPromise) ? Promise.all(values) : (values as T[]);
}

interface Candidate {
  id: string;
  base: number;
  readonly events: readonly StoredEvent[];
  gap?: { from: number; to: number };
  taken: number;
}

/**
 * Builds the answer's parts in a rotating order. A stream the record does not know gets an
 * `expired` termination; `terminate` decides the end of a stream whose client has every event
 * (§23.5: events first, then the termination).
 */
export function assemble(
  positions: ReadonlyMap<string, number>,
  streams: ReadonlyMap<string, MuxStream>,
  reads: ReadonlyMap<string, ReadResult>,
  limits: Limits,
  rotation: number,
  terminate: (stream: MuxStream) => void,
): Assembled {
  const ids = [...positions.keys()];
  const start = ids.length === 0 ? 0 : rotation % ids.length;
  const parts: string[] = [];
  const next = new Map(positions);
  const candidates: Candidate[] = [];
  for (const id of [...ids.slice(start), ...ids.slice(0, start)]) {
    const position = positions.get(id)!;
    const stream = streams.get(id);
    if (!stream) {
      parts.push(partJson({ id, events: [], termination: { reason: 'expired', last: position, advice: { action: 'reopen' } } }));
      next.delete(id);
      continue;
    }
    const read = reads.get(id);
    if (!stream.termination && stream.reading && read) {
      if (read.events.length > 0 || read.gap) {
        candidates.push({ id, base: stream.reading.base, events: read.events, ...(read.gap && { gap: read.gap }), taken: 0 });
        continue;
      }
      if (stream.reading.channel.ended && position >= stream.head) terminate(stream);
    }
    if (stream.termination) {
      // Repeatable (§23.5): every signature that still names the stream gets it again.
      parts.push(partJson({ id, events: [], termination: stream.termination }));
      next.delete(id);
    }
  }
  // Round robin within the batch's event and byte limits; a single event may exceed the byte
  // budget alone, as in SSP/1 (it then travels by itself).
  let budget = budgetBytes(limits, positions.size);
  let events = 0;
  for (let progressed = true; progressed && events < limits.maxBatchEvents; ) {
    progressed = false;
    for (const candidate of candidates) {
      const event = candidate.events[candidate.taken];
      if (!event || events >= limits.maxBatchEvents) continue;
      const cost = eventWireBytes(event, candidate.base) + 1;
      if (cost > budget && events > 0) continue;
      candidate.taken++;
      budget -= cost;
      events++;
      progressed = true;
    }
  }
  for (const { id, base, events: read, gap, taken } of candidates) {
    const sent = read.slice(0, taken);
    // A gap is announced even when none of the events after it fit this time (§9.4).
    if (sent.length === 0 && !gap) continue;
    next.set(id, (sent.length > 0 ? sent[sent.length - 1].seq : (gap as { to: number }).to) - base);
    const gapJson = gap ? `,"gap":{"from":${gap.from - base},"to":${gap.to - base}}` : '';
    parts.push(`{"id":${JSON.stringify(id)}${gapJson},"events":[${sent.map((e) => `{"seq":${e.seq - base},"data":${e.data.json}}`).join(',')}]}`);
  }
  return { parts, positions: next };
}

export function partJson(part: StreamPart): string {
  return JSON.stringify(part);
}

export type { StreamTermination };

/** A batch: no events of its own, the streams' parts, and what became of the poll's changes when it asked for some (§23.3). */
export function batchBody(sig: string, parts: readonly string[], changes?: Changes): string {
  let mux = `{"streams":[${parts.join(',')}]`;
  if (changes) mux += `,"added":${JSON.stringify(changes.added)},"refused":${JSON.stringify(changes.refused)}`;
  return `{"ssp":1,"type":"batch","sig":"${sig}","events":[],"ext":{"${EXTENSION}":${mux}}}}`;
}

/** The session's termination (§23.4), with the parts of the streams it ends. */
export function terminationBody(sig: string, reason: string, advice: Advice, parts: readonly string[]): string {
  return `{"ssp":1,"type":"termination","sig":"${sig}","reason":"${reason}","last":0,"advice":${JSON.stringify(advice)},"ext":{"${EXTENSION}":{"streams":[${parts.join(',')}]}}}`;
}
