// Publishing into a topic from outside the server process: the library side of
// `xanjax publish`. File logs get an inbox file (file-spool.ts); Redis gets the append script
// (redis-format.ts), the same thing a producer in any other language runs.
import { writeInboxFile } from './file-spool.ts';
import { parseLogUrl } from './log-url.ts';
import { APPEND_SCRIPT, channelKeys, topicChannel } from './redis-format.ts';

/** spec §6 stream names; a topic is opened as the stream of the same name. */
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface PublisherOptions {
  /** Redis only: keep about this many newest events per topic (the servers' retainEvents or more). Default 1000. */
  keep?: number;
}

export interface Publisher {
  /**
   * Appends each value (any JSON value) to the topic, in order. Resolves once they are
   * durably handed over: in the log (Redis), or in the topic's inbox (file), which the
   * server drains in order, so nothing resolved here is lost by a later crash of either side.
   */
  publish(topic: string, ...data: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export async function openPublisher(log: string, options: PublisherOptions = {}): Promise<Publisher> {
  const location = parseLogUrl(log);
  if (location.kind === 'memory') throw new Error('a memory log lives inside the server process: publish with handler.publish(), or use file: or redis://');
  if (location.kind === 'file') {
    const { dir } = location;
    return {
      publish: async (topic, ...data) => {
        if (data.length > 0) writeInboxFile(dir, checkTopic(topic), data.map(toJson));
      },
      close: async () => {},
    };
  }
  const keep = options.keep ?? 1000;
  // Fail fast instead of queueing forever: a publisher wants to know Redis is down (or
  // silent: a command unanswered for 10 s fails).
  // Loaded only for Redis: file-log users need no Redis client.
  const { Redis } = await import('ioredis');
  const redis = new Redis(location.url, { maxRetriesPerRequest: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, commandTimeout: 10_000 });
  redis.on('error', () => {});
  await redis.connect();
  return {
    publish: async (topic, ...data) => {
      if (data.length === 0) return;
      const keys = channelKeys(topicChannel(checkTopic(topic)));
      await redis.eval(APPEND_SCRIPT, 3, keys.log, keys.seq, keys.wake, keep, ...data.map(toJson));
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** One-shot: opens, publishes, closes. */
export async function publish(log: string, topic: string, ...data: unknown[]): Promise<void> {
  const publisher = await openPublisher(log);
  try {
    await publisher.publish(topic, ...data);
  } finally {
    await publisher.close();
  }
}

function checkTopic(topic: string): string {
  if (!TOPIC_NAME.test(topic)) throw new TypeError(`topic '${topic}' is not a valid stream name (${TOPIC_NAME})`);
  return topic;
}

function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
