// One request/answer exchange: POST a client message, classify the answer as a server
// message or a typed error saying whether sending the same message again may help.
import errorCodes from '../schemas/error-codes.json' with { type: 'json' };
import type { ClientMessage, ServerMessage } from '../schemas/types.gen.ts';
import { SspProtocolError, SspServerError, SspTransportError } from './errors.ts';
import { parseServerMessage } from './messages.ts';
import { parseRetryAfter } from './retry.ts';

/** The part of the WHATWG fetch API the client uses: browsers' fetch and undici's fetch fit. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal; keepalive?: boolean },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export type Answer = Exclude<ServerMessage, { type: 'error' }>;

// §15: retryability is fixed per code; the body's own flag only decides for codes newer than this client.
const retryableByCode = new Map(errorCodes.map((entry) => [entry.code, entry.retryable]));

// `text/plain` is a CORS-safelisted content type (SSP/1 §4: servers MUST accept it), so a
// page's cross-origin POST is a "simple request" and costs no preflight round trip.
const headers = { 'content-type': 'text/plain;charset=utf-8' };

interface ExchangeOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** fetch's `keepalive`: the request outlives the page that sent it (used for close on page hide). */
  keepalive?: boolean;
}

export async function send(
  fetch: FetchLike,
  endpoint: string,
  message: ClientMessage,
  options: ExchangeOptions,
): Promise<Answer> {
  const { status, retryAfter, text } = await exchange(fetch, endpoint, message, options);
  const parsed = parseServerMessage(text);
  const advisedMs = parseRetryAfter(retryAfter, Date.now());
  if (parsed.ok && parsed.message.type === 'error') {
    const body = parsed.message;
    const retryable = retryableByCode.get(body.code) ?? body.retryable;
    throw new SspServerError(body, status, retryable, body.retryAfterMs ?? advisedMs);
  }
  if (parsed.ok && status === 200) return parsed.message as Answer;
  const why = parsed.ok ? `a ${parsed.message.type} message with an unexpected status` : parsed.problem;
  // A garbled 200 or a gateway's 5xx/408/429 page is transient; any other status means a wrong endpoint.
  const retryable = status === 200 || status >= 500 || status === 408 || status === 429;
  throw new SspProtocolError(`HTTP ${status}: ${why}`, status, retryable, advisedMs);
}

async function exchange(
  fetch: FetchLike,
  endpoint: string,
  message: ClientMessage,
  { signal, timeoutMs, keepalive }: ExchangeOptions,
): Promise<{ status: number; retryAfter: string | null; text: string }> {
  signal.throwIfAborted();
  const controller = new AbortController();
  const abort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const body = JSON.stringify(message);
    const response = await fetch(endpoint, { method: 'POST', headers, body, signal: controller.signal, ...(keepalive ? { keepalive } : {}) });
    // Reading the body is part of the exchange: a connection dropped mid-answer rejects here.
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timedOut) throw new SspTransportError(`no answer from ${endpoint} within ${timeoutMs} ms`);
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new SspTransportError(`request to ${endpoint} failed (${String(error)}${cause})`, error);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}
