// Reading the discovery document is optional for a client (§16.1); the reference client reads it
// once per subscription because the limits make its rules exact: the answer deadline of a poll
// (SSP-CLIENT-26) and the backoff cap that keeps a live session alive (SSP-CLIENT-17). Any
// failure here is not a failed request: the client goes on without limits, sending `hold`
// in every poll (SSP-CLIENT-27).
import type { FetchLike, RequestSettings } from './transport.ts';

/** The limits the client uses; each may be missing from a document it cannot fully read. */
export interface KnownLimits {
  maxHoldMs?: number;
  batchDelayMs?: number;
  idleTimeoutMs?: number;
}

const limitNames = ['maxHoldMs', 'batchDelayMs', 'idleTimeoutMs'] as const;

export async function readLimits(
  fetch: FetchLike,
  endpoint: string,
  settings: RequestSettings,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<KnownLimits | undefined> {
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const headers = { accept: 'application/json', ...(await settings.headers()) };
    const response = await fetch(endpoint, { method: 'GET', headers, signal: controller.signal, ...settings.init });
    const text = await response.text();
    if (response.status !== 200) return undefined;
    const document: unknown = JSON.parse(text);
    if (typeof document !== 'object' || document === null || !('limits' in document)) return undefined;
    const limits = (document as { limits: unknown }).limits;
    if (typeof limits !== 'object' || limits === null) return undefined;
    const known: KnownLimits = {};
    for (const name of limitNames) {
      const value = (limits as Record<string, unknown>)[name];
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) known[name] = value;
    }
    return known;
  } catch {
    signal.throwIfAborted(); // close() during discovery ends the subscription; anything else is ignored
    return undefined;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}
