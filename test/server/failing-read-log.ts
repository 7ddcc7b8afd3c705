// The memory log with asynchronous reads, which fail while `failing` is set: an event log
// (a disk, Redis) that stops answering under a held poll.
import { MemoryEventLog } from '../../reference-server/event-log/memory.ts';
import type { Channel, ChannelOptions, ReadLimits } from '../../reference-server/event-log/types.ts';

export class FailingReadLog extends MemoryEventLog {
  reads = 0;
  failing = false;

  override channel(name: string, options: ChannelOptions): any {
    const channel = super.channel(name, options) as Channel;
    return new Proxy(channel, {
      get: (target, key) => {
        if (key !== 'read') {
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (position: number, limits: ReadLimits) => {
          this.reads++;
          return this.failing ? Promise.reject(new Error('disk gone')) : Promise.resolve(target.read(position, limits));
        };
      },
    });
  }
}
