// `--log` → an event log: memory (default), file:DIR, redis://… The durable logs load
// lazily, so a memory-log server never loads the Redis client.
import { createMemoryEventLog } from '../event-log/memory.ts';
import type { EventLog } from '../event-log/types.ts';
import { parseLogUrl } from './log-url.ts';

export interface OpenLogOptions {
  /** File log: fsync period in ms, 0 = after every append. Default 1000. */
  fsyncIntervalMs?: number;
  /** retryAfterMs of `unavailable` answers while the log cannot be used. Default 2000. */
  retryAfterMs?: number;
  /** Redis: how long to wait for the first connection. Default 10 000. */
  connectTimeoutMs?: number;
}

export async function openEventLog(log: string, options: OpenLogOptions = {}): Promise<EventLog> {
  const location = parseLogUrl(log);
  const common = options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs };
  if (location.kind === 'memory') return createMemoryEventLog();
  if (location.kind === 'file') {
    const { FileEventLog } = await import('./file-log.ts');
    return new FileEventLog(location.dir, { ...common, ...(options.fsyncIntervalMs !== undefined && { fsyncIntervalMs: options.fsyncIntervalMs }) });
  }
  const { RedisEventLog } = await import('./redis-log.ts');
  const redis = new RedisEventLog(location.url, common);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot reach Redis at ${location.url}`)), options.connectTimeoutMs ?? 10_000);
  });
  try {
    await Promise.race([redis.ready(), timeout]);
  } catch (error) {
    await redis.close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return redis;
}
