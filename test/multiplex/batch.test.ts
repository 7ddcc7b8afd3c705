// A multiplexed batch reads each stream for its fair share only (reference-server/multiplex/
// batch.ts): what `assemble` sends must be what reading every stream in full would send
// (SSP-MUX-9's round robin), also when a channel holds more than its head says.
import { describe, expect, it } from 'vitest';
import { MemoryChannel } from '../../reference-server/event-log/memory.ts';
import { SerializedData } from '../../reference-server/event-log/types.ts';
import type { Channel, ReadLimits } from '../../reference-server/event-log/types.ts';
import { assemble, gather } from '../../reference-server/multiplex/batch.ts';
import { MuxStream } from '../../reference-server/multiplex/channel.ts';

const limits = { maxBatchEvents: 100, maxBatchBytes: 1_000_000 };
const watcher = { onChannelChange() {} };

/** A topic-like channel with `count` events, recording the maxEvents of every read. */
function channel(name: string, count: number): MemoryChannel & { asked: number[] } {
  const c = Object.assign(new MemoryChannel(name, { readers: 'shared', retainEvents: 10_000, startAt: 0 }), { asked: [] as number[] });
  for (let i = 1; i <= count; i++) c.append(SerializedData.of({ i }));
  const read = c.read.bind(c);
  c.read = (position: number, readLimits: ReadLimits) => {
    c.asked.push(readLimits.maxEvents);
    return read(position, readLimits);
  };
  return c;
}

function streamsOf(channels: Record<string, Channel>): Map<string, MuxStream> {
  return new Map(
    Object.entries(channels).map(([id, c]) => [id, new MuxStream({ id, stream: 'topic', params: {} }, { channel: c, base: 0, own: false, producer: undefined, lease: undefined, watcher })]),
  );
}

/** Events per stream id in the assembled batch. */
function sent(channels: Record<string, Channel>, readFully = false): Record<string, number> {
  const streams = streamsOf(channels);
  const positions = new Map(Object.keys(channels).map((id) => [id, 0]));
  const reads = readFully
    ? new Map([...streams].map(([id, s]) => [id, s.reading!.channel.read(0, { maxEvents: limits.maxBatchEvents, maxBytes: 1e9 }) as never]))
    : (gather(positions, streams, limits) as Map<string, never>);
  const { parts } = assemble(positions, streams, reads, limits, 0, () => {});
  return Object.fromEntries(parts.map((p) => JSON.parse(p) as { id: string; events: unknown[] }).map((p) => [p.id, p.events.length]));
}

describe('multiplexed batch shares', () => {
  it('reads busy streams for their share only, and sends what full reads would', () => {
    const busy = { a: channel('a', 300), b: channel('b', 300), c: channel('c', 300), q: channel('q', 5) };
    expect(sent(busy)).toEqual({ a: 32, b: 32, c: 31, q: 5 });
    expect(sent(busy)).toEqual(sent({ a: channel('a', 300), b: channel('b', 300), c: channel('c', 300), q: channel('q', 5) }, true));
    // q has fewer than a share: read in full; the busy ones for the level (ceil(95 / 3)).
    expect(busy.a.asked[0]).toBe(32);
    expect(busy.q.asked[0]).toBe(100);
  });

  it('reads every stream in full when all of them fit one batch', () => {
    const few = { a: channel('a', 40), b: channel('b', 50) };
    expect(sent(few)).toEqual({ a: 40, b: 50 });
    expect([...few.a.asked, ...few.b.asked]).toEqual([100, 100]);
  });

  it('reads the shortened streams again in full when a channel holds more than its head says', () => {
    // `stale` has 300 events but says 0 (appended by another process, not yet seen here).
    const make = () => {
      const stale = channel('stale', 300);
      Object.defineProperty(stale, 'head', { value: 0 });
      return { stale, b: channel('b', 300), c: channel('c', 300) };
    };
    const streams = make();
    expect(sent(streams)).toEqual(sent(make(), true));
    expect(sent(make())).toEqual({ stale: 34, b: 33, c: 33 });
    // b and c were read for the level (ceil(100 / 2)), then again in full once stale brought more.
    expect(streams.b.asked).toEqual([50, 100]);
    expect(streams.stale.asked).toEqual([100]);
  });
});
