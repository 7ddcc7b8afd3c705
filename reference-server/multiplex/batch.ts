// What one answer of a multiplexed session carries (spec §23.4): for every stream the
// signature names, its next events, a gap, or its termination, sharing the batch's limits
// fairly: round robin, one event per stream per round, starting at a rotating stream, so a
// busy stream cannot crowd out the others (SSP-MUX-12).
import type { StoredEvent, StreamEnd } from '../event-log/types.ts';
import type { Channel } from './channel.ts';
import type { StreamPart, StreamTermination } from './wire.ts';

export interface Collected {
  /** Parts with something to say, as wire JSON fragments. */
  parts: string[];
  /** Positions for the new signature: streams whose termination was sent are left out. */
  positions: Map<string, number>;
}

interface Candidate {
  id: string;
  events: StoredEvent[];
  gap?: { from: number; to: number };
  taken: number;
  bytes: number;
}

/** Envelope bytes reserved per stream part: `{"id":"…","gap":{…},"events":[]}` with room to spare. */
const PART_RESERVE = 96;

/**
 * Reads every named stream at its position. `channels` resolves ids; a name the session does
 * not know gets an `expired` termination (its record is gone). `terminate` decides the end
 * of a live stream whose client has every event (§23.5: events first, then the termination).
 */
export function collect(
  positions: ReadonlyMap<string, number>,
  channels: ReadonlyMap<string, Channel>,
  limits: { maxBatchEvents: number; maxBatchBytes: number },
  rotation: number,
  terminate: (channel: Channel, end: StreamEnd) => StreamTermination,
): Collected {
  const ids = [...positions.keys()];
  const start = ids.length === 0 ? 0 : rotation % ids.length;
  const order = [...ids.slice(start), ...ids.slice(0, start)];
  const parts: string[] = [];
  const next = new Map(positions);
  const candidates: Candidate[] = [];
  let budgetBytes = limits.maxBatchBytes - 2400 - PART_RESERVE * ids.length;
  for (const id of order) {
    const position = positions.get(id)!;
    const channel = channels.get(id);
    if (!channel) {
      parts.push(partJson({ id, events: [], termination: { reason: 'expired', last: position, advice: { action: 'reopen' } } }));
      next.delete(id);
      continue;
    }
    if (!channel.termination && channel.log) {
      const { log } = channel;
      const read = log.read(position, { maxEvents: limits.maxBatchEvents, maxBytes: Math.max(0, budgetBytes) });
      if (read.events.length > 0 || read.gap) {
        candidates.push({ id, events: read.events, ...(read.gap && { gap: read.gap }), taken: 0, bytes: 0 });
        continue;
      }
      if (log.ended && position >= log.head) terminate(channel, log.ended);
    }
    if (channel.termination) {
      // Repeatable (§23.5): every signature that still names the stream gets it again.
      parts.push(partJson({ id, events: [], termination: channel.termination }));
      next.delete(id);
    }
  }
  // Round robin over the streams with events, within the batch's event and byte limits; a
  // single event may exceed the byte budget alone, as in SSP/1 (it is sent by itself).
  let events = 0;
  let progressed = true;
  while (progressed && events < limits.maxBatchEvents) {
    progressed = false;
    for (const candidate of candidates) {
      if (events >= limits.maxBatchEvents) break;
      const event = candidate.events[candidate.taken];
      if (!event) continue;
      const cost = event.bytes + 1;
      if (cost > budgetBytes && events > 0) continue;
      candidate.taken++;
      candidate.bytes += cost;
      budgetBytes -= cost;
      events++;
      progressed = true;
    }
  }
  for (const candidate of candidates) {
    const taken = candidate.events.slice(0, candidate.taken);
    const { gap } = candidate;
    // A gap is announced even when none of the events after it fit this time (§9.4).
    if (taken.length === 0 && !gap) continue;
    next.set(candidate.id, taken.length > 0 ? taken[taken.length - 1].seq : (gap as { to: number }).to);
    parts.push(`{"id":${JSON.stringify(candidate.id)}${gap ? `,"gap":{"from":${gap.from},"to":${gap.to}}` : ''},"events":[${taken.map((e) => e.json).join(',')}]}`);
  }
  return { parts, positions: next };
}

export function partJson(part: StreamPart): string {
  return JSON.stringify(part);
}
