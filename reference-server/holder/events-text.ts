// The events of a batch as its body carries them, `{"seq":s,"data":…},…`, built once per
// cursor: the sessions of a topic that read the same events with the same base (a broadcast
// wakes them all at one position) are answered with one text, as bare's loop builds one body
// per cursor. One memo per shared channel; it keeps texts for the channel's current head
// only, and a bounded number of characters, so it holds no events the channel has moved past.
import type { StoredEvent } from '../event-log/types.ts';

/** Most characters of text one channel's memo keeps (a few typical batches). */
const MAX_CHARS = 262_144;

interface Entry {
  readonly last: number;
  readonly base: number;
  readonly text: string;
}

export class EventsText {
  #head = -1;
  #chars = 0;
  readonly #byFirst = new Map<number, Entry>();

  /** The text of `events` (consecutive, from a channel whose head is `head`) with seqs less `base`. */
  of(events: readonly StoredEvent[], base: number, head: number): string {
    if (head !== this.#head) {
      this.#byFirst.clear();
      this.#chars = 0;
      this.#head = head;
    }
    const first = events[0].seq;
    const last = events[events.length - 1].seq;
    const found = this.#byFirst.get(first);
    if (found !== undefined && found.last === last && found.base === base) return found.text;
    const text = eventsJson(events, base);
    if (this.#chars + text.length <= MAX_CHARS) {
      this.#byFirst.set(first, { last, base, text });
      this.#chars += text.length;
    }
    return text;
  }
}

/** The events of a batch, each `{"seq":n,"data":…}` with its data text serialized once at append. */
export function eventsJson(events: readonly StoredEvent[], base: number): string {
  let text = '';
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    text += `${i === 0 ? '' : ','}{"seq":${event.seq - base},"data":${event.data.json}}`;
  }
  return text;
}
