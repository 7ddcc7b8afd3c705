// The in-memory event log on its own: seqs, reads within limits, retention and gaps.
import { describe, expect, it } from 'vitest';
import { MemoryEventLog } from '../../reference-server/event-log/memory.ts';
import { SerializedData } from '../../reference-server/event-log/types.ts';

const data = (value: unknown) => SerializedData.of(value);
const unlimited = { maxEvents: 1000, maxBytes: 1_000_000 };
const seqs = (log: MemoryEventLog, position: number, limits = unlimited) => log.read(position, limits).events.map((e) => e.seq);

describe('MemoryEventLog', () => {
  it('numbers events from startAt + 1 and stores their wire JSON with its UTF-8 size', () => {
    const log = new MemoryEventLog({ retainEvents: 10, startAt: 4 });
    expect(log.append(data({ a: 'é' }))).toBe(5);
    const [event] = log.read(4, unlimited).events;
    expect(event.json).toBe('{"seq":5,"data":{"a":"é"}}');
    expect(event.bytes).toBe(Buffer.byteLength(event.json));
    expect(log.head).toBe(5);
  });

  it('serializes data once however many logs receive it', () => {
    const shared = data({ big: 'x'.repeat(100) });
    const a = new MemoryEventLog({ retainEvents: 10, startAt: 0 });
    const b = new MemoryEventLog({ retainEvents: 10, startAt: 7 });
    a.append(shared);
    b.append(shared);
    expect(SerializedData.of(shared)).toBe(shared);
    expect(a.read(0, unlimited).events[0].json).toContain(shared.json);
    expect(b.read(7, unlimited).events[0].json).toBe(`{"seq":8,"data":${shared.json}}`);
  });

  it('reads within maxEvents and maxBytes, but always at least one event', () => {
    const log = new MemoryEventLog({ retainEvents: 100, startAt: 0 });
    for (let i = 0; i < 10; i++) log.append(data('x'.repeat(50)));
    expect(seqs(log, 0, { maxEvents: 3, maxBytes: 1e6 })).toEqual([1, 2, 3]);
    const size = log.read(0, unlimited).events[0].bytes;
    expect(seqs(log, 2, { maxEvents: 100, maxBytes: size * 2 + 1 })).toEqual([3, 4]);
    expect(seqs(log, 2, { maxEvents: 100, maxBytes: 1 })).toEqual([3]);
    expect(seqs(log, 10)).toEqual([]);
  });

  it('keeps the newest retainEvents and reports evicted ones as a gap', () => {
    const log = new MemoryEventLog({ retainEvents: 5, startAt: 0 });
    for (let i = 0; i < 12; i++) log.append(data(i));
    expect(log.read(0, unlimited)).toMatchObject({ gap: { from: 1, to: 7 } });
    expect(seqs(log, 0)).toEqual([8, 9, 10, 11, 12]);
    expect(log.read(9, unlimited).gap).toBeUndefined();
  });

  it('frees acknowledged events but keeps the last acknowledged batch for re-delivery', () => {
    const log = new MemoryEventLog({ retainEvents: 1000, startAt: 0 });
    for (let i = 0; i < 10; i++) log.append(data(i));
    log.acknowledge(4);
    expect(seqs(log, 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    log.acknowledge(8);
    expect(log.read(0, unlimited)).toMatchObject({ gap: { from: 1, to: 4 } });
    expect(seqs(log, 4)).toEqual([5, 6, 7, 8, 9, 10]);
    log.acknowledge(10);
    log.acknowledge(10);
    expect(log.read(2, unlimited)).toEqual({ gap: { from: 3, to: 8 }, events: log.read(8, unlimited).events });
  });

  it('stays correct across many appends and compactions', () => {
    const log = new MemoryEventLog({ retainEvents: 50, startAt: 0 });
    for (let i = 1; i <= 5000; i++) {
      log.append(data(i));
      if (i % 7 === 0) log.acknowledge(i - 3);
    }
    expect(seqs(log, 4990)).toEqual([4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
    expect(log.read(4990, unlimited).events[0].json).toBe('{"seq":4991,"data":4991}');
  });

  it('notifies subscribers on append and end, and ignores appends after end or dispose', () => {
    const log = new MemoryEventLog({ retainEvents: 5, startAt: 0 });
    let calls = 0;
    const unsubscribe = log.subscribe(() => calls++);
    log.append(data(1));
    log.end({ reason: 'complete' });
    expect(calls).toBe(2);
    expect(log.append(data(2))).toBe(1);
    expect(log.ended).toEqual({ reason: 'complete' });
    unsubscribe();
    log.dispose();
    expect(log.read(0, unlimited).events).toEqual([]);
  });

  it('stores undefined as null', () => {
    expect(SerializedData.of(undefined).json).toBe('null');
  });
});
