// The in-memory event log on its own: channels, seqs, reads within limits at any cursor,
// retention (single reader: acknowledgements; shared: retainEvents) and gaps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../reference-server/event-log/memory.ts';
import type { ChannelOptions, ReadLimits } from '../../reference-server/event-log/types.ts';
import { SerializedData, eventWireBytes } from '../../reference-server/event-log/types.ts';
import type { MemoryChannel } from '../../reference-server/event-log/memory.ts';

const data = (value: unknown) => SerializedData.of(value);
const unlimited: ReadLimits = { maxEvents: 1000, maxBytes: 1_000_000 };
const single = (retainEvents: number, startAt = 0): ChannelOptions => ({ readers: 'single', retainEvents, startAt });
const shared = (retainEvents: number): ChannelOptions => ({ readers: 'shared', retainEvents, startAt: 0 });
const seqs = (channel: MemoryChannel, position: number, limits = unlimited) => channel.read(position, limits).events.map((e) => e.seq);

describe('MemoryEventLog', () => {
  it('numbers events from startAt + 1 and stores their data with its UTF-8 size', () => {
    const channel = new MemoryEventLog().channel('session:a', single(10, 4));
    expect(channel.append(data({ a: 'é' }))).toBe(5);
    const [event] = channel.read(4, unlimited).events;
    expect(event.seq).toBe(5);
    expect(event.data.json).toBe('{"a":"é"}');
    expect(eventWireBytes(event, 0)).toBe(Buffer.byteLength('{"seq":5,"data":{"a":"é"}}'));
    expect(eventWireBytes(event, 4)).toBe(Buffer.byteLength('{"seq":1,"data":{"a":"é"}}'));
    expect(channel.head).toBe(5);
  });

  it('opens a channel once by name; options apply only when it is created', () => {
    const log = new MemoryEventLog();
    const a = log.channel('topic:t', shared(10));
    a.append(data(1));
    expect(log.channel('topic:t', shared(99))).toBe(a);
    expect(log.channel('topic:t', shared(99)).head).toBe(1);
    log.delete('topic:t');
    expect(log.channel('topic:t', shared(10)).head).toBe(0);
    expect(log.size).toBe(1);
  });

  it('stores an event once for every reader of a shared channel, each reading at its own cursor', () => {
    const channel = new MemoryEventLog().channel('topic:t', shared(10));
    const event = data({ big: 'x'.repeat(100) });
    channel.append(data('before'));
    channel.append(event);
    channel.append(data('after'));
    const [fromOne] = channel.read(1, unlimited).events;
    const [fromZero, again] = channel.read(0, unlimited).events.slice(1);
    expect(fromOne).toBe(fromZero);
    expect(fromOne.data).toBe(event);
    expect(again.seq).toBe(3);
    expect(SerializedData.of(event)).toBe(event);
  });

  it('reads within maxEvents and maxBytes counted in the reader seqs, but always at least one event', () => {
    const channel = new MemoryEventLog().channel('session:a', single(100));
    for (let i = 0; i < 10; i++) channel.append(data('x'.repeat(50)));
    expect(seqs(channel, 0, { maxEvents: 3, maxBytes: 1e6 })).toEqual([1, 2, 3]);
    const size = eventWireBytes(channel.read(0, unlimited).events[0], 0);
    expect(seqs(channel, 2, { maxEvents: 100, maxBytes: size * 2 + 1 })).toEqual([3, 4]);
    expect(seqs(channel, 2, { maxEvents: 100, maxBytes: 1 })).toEqual([3]);
    expect(seqs(channel, 10)).toEqual([]);
    // seq 10 is two digits for base 0, one digit for a reader whose position 0 is seq 5.
    const ten = eventWireBytes(channel.read(9, unlimited).events[0], 0);
    expect(eventWireBytes(channel.read(9, unlimited).events[0], 5)).toBe(ten - 1);
  });

  it('keeps the newest retainEvents and reports evicted ones as a gap', () => {
    const channel = new MemoryEventLog().channel('session:a', single(5));
    for (let i = 0; i < 12; i++) channel.append(data(i));
    expect(channel.read(0, unlimited)).toMatchObject({ gap: { from: 1, to: 7 } });
    expect(seqs(channel, 0)).toEqual([8, 9, 10, 11, 12]);
    expect(channel.read(9, unlimited).gap).toBeUndefined();
  });

  it('frees acknowledged events of a single-reader channel but keeps the last acknowledged batch', () => {
    const channel = new MemoryEventLog().channel('session:a', single(1000));
    for (let i = 0; i < 10; i++) channel.append(data(i));
    channel.acknowledge(4);
    expect(seqs(channel, 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    channel.acknowledge(8);
    expect(channel.read(0, unlimited)).toMatchObject({ gap: { from: 1, to: 4 } });
    expect(seqs(channel, 4)).toEqual([5, 6, 7, 8, 9, 10]);
    channel.acknowledge(10);
    channel.acknowledge(10);
    expect(channel.read(2, unlimited)).toEqual({ gap: { from: 3, to: 8 }, events: channel.read(8, unlimited).events });
  });

  it('ignores acknowledgements on a shared channel: other readers still need the events', () => {
    const channel = new MemoryEventLog().channel('topic:t', shared(4));
    for (let i = 0; i < 6; i++) channel.append(data(i));
    channel.acknowledge(6);
    expect(channel.read(0, unlimited)).toMatchObject({ gap: { from: 1, to: 2 } });
    expect(seqs(channel, 0)).toEqual([3, 4, 5, 6]);
  });

  it('stays correct across many appends and compactions', () => {
    const channel = new MemoryEventLog().channel('session:a', single(50));
    for (let i = 1; i <= 5000; i++) {
      channel.append(data(i));
      if (i % 7 === 0) channel.acknowledge(i - 3);
    }
    expect(seqs(channel, 4990)).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
    expect(channel.read(4990, unlimited).events[0].data.json).toBe('4991');
  });

  it('wakes its watchers on append and end, and ignores appends after end or delete', () => {
    const log = new MemoryEventLog();
    const channel = log.channel('session:a', single(5));
    let calls = 0;
    const watcher = { onChannelChange: () => calls++ };
    channel.watch(watcher);
    expect(channel.readers).toBe(1);
    channel.append(data(1));
    channel.end({ reason: 'complete' });
    expect(calls).toBe(2);
    expect(channel.append(data(2))).toBe(1);
    expect(channel.ended).toEqual({ reason: 'complete' });
    channel.unwatch(watcher);
    expect(channel.readers).toBe(0);
    log.delete('session:a');
    expect(channel.read(0, unlimited).events).toEqual([]);
  });

  it("answers a shared channel's reader at the cursor of the last read with that read's result, and only while the window is unchanged", () => {
    const op = fc.oneof(
      fc.record({ append: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ position: fc.integer({ min: 0, max: 12 }), maxEvents: fc.integer({ min: 1, max: 4 }), maxBytes: fc.constantFrom(20, 1000), base: fc.constantFrom(0, 2) }),
      fc.constant({ again: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const memoized = new MemoryEventLog().channel('topic:t', shared(5));
        // The same channel, read each time at another cursor first, so it never answers from its memo.
        const fresh = new MemoryEventLog().channel('topic:t', shared(5));
        let last = { position: 0, maxEvents: 1, maxBytes: 1000, base: 0 };
        for (const o of ops) {
          if ('again' in o) {
            // The previous read's cursor and limits once more, perhaps after appends.
            fresh.read(last.position + 1000, last);
            expect(memoized.read(last.position, last)).toEqual(fresh.read(last.position, last));
            continue;
          }
          if ('append' in o) {
            for (let i = 0; i < o.append; i++) {
              memoized.append(data('x'.repeat(i)));
              fresh.append(data('x'.repeat(i)));
            }
            continue;
          }
          last = o;
          fresh.read(o.position + 1000, o);
          expect(memoized.read(o.position, o)).toEqual(fresh.read(o.position, o));
        }
      }),
    );
  });

  it('stores undefined as null', () => {
    expect(SerializedData.of(undefined).json).toBe('null');
  });
});
