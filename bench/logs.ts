// The reference server's event log for a bench row, by `--log` value. `memory` is the default;
// durable logs (file:DIR, redis://HOST:PORT) plug in here once the server has them.
import type { EventLog } from '../reference-server/event-log/types.ts';

export async function eventLogFor(spec: string): Promise<EventLog | undefined> {
  if (spec === 'memory') return undefined;
  throw new Error(`--log ${spec}: this build of the reference server has only the memory log`);
}
