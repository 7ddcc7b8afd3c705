// Topic streams: the host application calls publish(topic, data) and every session open on
// that topic receives the event. A topic is one shared channel of the event log: publish
// serializes and appends the event once, and each session reads it at its own cursor.
import type { Channel, EventLog, MaybePromise } from '../event-log/types.ts';
import { SerializedData, isPromise, topicChannel } from '../event-log/types.ts';
import type { StreamDefinition } from './types.ts';

export class TopicHub {
  readonly #channels = new Map<string, MaybePromise<Channel>>();
  /** Topics whose channel an asynchronous log failed to open (Redis away): opened again at their next publish. */
  readonly #unopened = new Set<string>();

  constructor(
    readonly log: EventLog,
    readonly retainEvents: number,
  ) {}

  has(topic: string): boolean {
    return this.#channels.has(topic);
  }

  /** The stream definition of a topic (to register under the topic's name); opens its channel. */
  define(topic: string, description = `Topic '${topic}': events published by the host application.`): StreamDefinition<Record<string, never>> {
    this.#open(topic);
    return { description, params: { type: 'object', additionalProperties: false }, topic };
  }

  #open(topic: string): MaybePromise<Channel> {
    const channel = this.log.channel(topicChannel(topic), { readers: 'shared', retainEvents: this.retainEvents, startAt: 0 });
    this.#channels.set(topic, channel);
    if (isPromise(channel)) void channel.then((open) => this.#channels.set(topic, open), () => this.#unopened.add(topic));
    return channel;
  }

  /**
   * Appends data to the topic's channel once; returns how many sessions read it now. With
   * an asynchronous log the append completes later (failures are logged, never thrown here).
   */
  publish(topic: string, data: unknown): number {
    if (!this.#channels.has(topic)) throw new TypeError(`unknown topic '${topic}': declare it in the 'topics' option`);
    const channel = this.#unopened.delete(topic) ? this.#open(topic) : (this.#channels.get(topic) as MaybePromise<Channel>);
    const serialized = SerializedData.of(data);
    if (isPromise(channel)) {
      channel.then((open) => open.append(serialized)).catch(logFailure(topic));
      return 0;
    }
    const appended = channel.append(serialized);
    if (isPromise(appended)) appended.catch(logFailure(topic));
    return channel.readers;
  }
}

const logFailure = (topic: string) => (error: unknown) => console.error(`xanjax: publish to topic '${topic}' failed:`, error);
