// TopicHub with an asynchronous log that cannot open a topic's channel at first (Redis away
// when the server starts): the topic is opened again at its next publish, instead of every
// publish failing for the life of the server.
import { describe, expect, it } from 'vitest';
import { SspError } from '../../reference-server/errors.ts';
import { MemoryEventLog } from '../../reference-server/event-log/memory.ts';
import type { Channel, ChannelOptions } from '../../reference-server/event-log/types.ts';
import { TopicHub } from '../../reference-server/streams/topics.ts';

/** The memory log behind an asynchronous open that fails the first `failures` times. */
class FlakyOpenLog extends MemoryEventLog {
  opens = 0;
  constructor(readonly failures: number) {
    super();
  }

  override channel(name: string, options: ChannelOptions): any {
    this.opens++;
    if (this.opens <= this.failures) return Promise.reject(new SspError('unavailable', 'the event log (Redis) is not available', { retryAfterMs: 1000 }));
    return Promise.resolve(super.channel(name, options) as Channel);
  }
}

describe('TopicHub', () => {
  it('opens a topic again at its next publish when the log could not open it', async () => {
    const log = new FlakyOpenLog(1);
    const hub = new TopicHub(log, 100);
    hub.define('news');
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.opens).toBe(1);
    hub.publish('news', { n: 1 });
    hub.publish('news', { n: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    // Opened once more (not once per publish), and both events are in.
    expect(log.opens).toBe(2);
    const channel = (await log.channel('topic:news', { readers: 'shared', retainEvents: 100, startAt: 0 })) as Channel;
    expect(channel.head).toBe(2);
  });
});
