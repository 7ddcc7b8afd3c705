// One events text per cursor (reference-server/holder/events-text.ts): sessions of a topic
// that read the same events share a text, and never get another reader's seqs or events.
import { describe, expect, it } from 'vitest';
import { EventsText } from '../../reference-server/holder/events-text.ts';
import { SerializedData } from '../../reference-server/event-log/types.ts';
import type { StoredEvent } from '../../reference-server/event-log/types.ts';

const events = (from: number, to: number): StoredEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, data: SerializedData.of({ n: from + i }) }));

const parsed = (text: string) => JSON.parse(`[${text}]`) as { seq: number; data: { n: number } }[];

describe('EventsText', () => {
  it('gives readers of the same events the same text, each base its own seqs, each range its own events', () => {
    const memo = new EventsText();
    const first = memo.of(events(3, 5), 0, 5);
    expect(memo.of(events(3, 5), 0, 5)).toBe(first);
    expect(parsed(first)).toEqual([3, 4, 5].map((n) => ({ seq: n, data: { n } })));
    // A session that opened at channel seq 2 numbers the same events 1..3 (SSP-OPEN-3).
    expect(parsed(memo.of(events(3, 5), 2, 5)).map((e) => e.seq)).toEqual([1, 2, 3]);
    // The same start with fewer events (a batch limit) and another start are texts of their own.
    expect(parsed(memo.of(events(3, 4), 0, 5)).map((e) => e.data.n)).toEqual([3, 4]);
    expect(parsed(memo.of(events(4, 5), 0, 5)).map((e) => e.data.n)).toEqual([4, 5]);
    expect(parsed(memo.of(events(3, 5), 0, 5))).toEqual(parsed(first));
  });
});
