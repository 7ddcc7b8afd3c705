// Topic streams: the host application calls publish(topic, data) and every session open on
// that topic receives the event. The data is serialized once per publish, not per session.
import { SerializedData } from '../event-log/types.ts';
import type { StreamDefinition } from './types.ts';

/** One session's inbox; the producer drains it whenever it is woken. */
class Inbox {
  items: SerializedData[] = [];
  #wake: (() => void) | undefined;

  push(item: SerializedData): void {
    this.items.push(item);
    this.wakeUp();
  }

  wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves on the next push or abort. */
  next(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      if (signal.aborted) this.wakeUp();
    });
  }
}

export class TopicHub {
  readonly #inboxes = new Map<string, Set<Inbox>>();

  has(topic: string): boolean {
    return this.#inboxes.has(topic);
  }

  /** The stream definition of a topic (to register under the topic's name). */
  define(topic: string, description = `Topic '${topic}': events published by the host application.`): StreamDefinition<Record<string, never>> {
    const inboxes = new Set<Inbox>();
    this.#inboxes.set(topic, inboxes);
    return {
      description,
      params: { type: 'object', additionalProperties: false },
      async *produce(_params, { signal }) {
        const inbox = new Inbox();
        const onAbort = () => inbox.wakeUp();
        inboxes.add(inbox);
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          while (!signal.aborted) {
            if (inbox.items.length === 0) await inbox.next(signal);
            const items = inbox.items;
            inbox.items = [];
            yield* items;
          }
        } finally {
          inboxes.delete(inbox);
          signal.removeEventListener('abort', onAbort);
        }
      },
    };
  }

  /** Delivers data to every session open on the topic; returns how many received it. */
  publish(topic: string, data: unknown): number {
    const inboxes = this.#inboxes.get(topic);
    if (!inboxes) throw new TypeError(`unknown topic '${topic}': declare it in the 'topics' option`);
    if (inboxes.size === 0) return 0;
    const serialized = SerializedData.of(data);
    for (const inbox of inboxes) inbox.push(serialized);
    return inboxes.size;
  }
}
