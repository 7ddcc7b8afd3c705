// One request/answer exchange: POST a client message, classify the answer as the server
// message that answers it, or as a typed error saying whether sending the same message
// again may help (SSP/1 §16: invalid answers, SSP-CLIENT-19; unknown codes, SSP-CLIENT-22;
// authorization failures, SSP-CLIENT-20).
import errorCodes from '../schemas/error-codes.json' with { type: 'json' };
import type { ClientMessage, ErrorMessage, ServerMessage } from '../schemas/types.gen.ts';
import { SspAuthError, SspProtocolError, SspServerError, SspTransportError } from './errors.ts';
import { parseServerMessage } from './messages.ts';
import { parseRetryAfter } from './retry.ts';

/** The part of the WHATWG fetch API the client uses: browsers' fetch and undici's fetch fit. */
export type FetchLike = (
  url: string,
  init: {
    method: 'POST' | 'GET';
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
    keepalive?: boolean;
    credentials?: 'omit' | 'same-origin' | 'include';
  },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export type Answer = Exclude<ServerMessage, { type: 'error' }>;

/** Credentials and other per-deployment request settings (SSP-CLIENT-28: sent with every request). */
export interface RequestSettings {
  /** Extra headers, evaluated per request so that refreshed credentials are used at once. */
  headers(): Record<string, string> | Promise<Record<string, string>>;
  /** fetch's `credentials`, when set (browsers: 'include' sends cookies to another origin). */
  init: { credentials?: 'omit' | 'same-origin' | 'include' };
}

const registry = new Map(errorCodes.map((entry) => [entry.code, entry]));

// Which message types answer which request (§6.3).
const answers: Record<ClientMessage['type'], ReadonlySet<string>> = {
  open: new Set(['session']),
  poll: new Set(['batch', 'termination']),
  close: new Set(['termination']),
};

// `text/plain` is a CORS-safelisted content type (SSP/1 §4: servers MUST accept it), so a
// page's cross-origin POST is a "simple request" and costs no preflight round trip.
const contentType = { 'content-type': 'text/plain;charset=utf-8' };

interface ExchangeOptions {
  signal: AbortSignal;
  timeoutMs: number;
  settings: RequestSettings;
  /** fetch's `keepalive`: the request outlives the page that sent it (used for close on page hide). */
  keepalive?: boolean;
  /** Called as the request is handed to fetch (SSP-CLIENT-9 counts from when the poll was sent). */
  onSend?: () => void;
}

export async function send(fetch: FetchLike, endpoint: string, message: ClientMessage, options: ExchangeOptions): Promise<Answer> {
  const { status, headers, text } = await exchange(fetch, endpoint, message, options);
  const parsed = parseServerMessage(text);
  const advisedMs = parseRetryAfter(headers.get('retry-after'), Date.now());
  const invalid = (why: string) => invalidAnswer(status, why, advisedMs, headers);
  if (!parsed.ok) throw invalid(parsed.problem);
  const body = parsed.message;
  if (body.type === 'error') {
    const known = registry.get(body.code);
    // Status and body must agree: an error never comes with 2xx, a known code only with its own status.
    if (status < 400 || status > 599 || (known !== undefined && known.status !== status)) {
      throw invalid(`error ${body.code} with status ${status}${known ? `, registered as ${known.status}` : ''}`);
    }
    const code: string = body.code;
    if (code === 'unauthorized' || code === 'forbidden' || ((status === 401 || status === 403) && !known)) {
      throw authError(status, headers, body, body.message);
    }
    // §15: retryability is fixed per known code; the body's own flag decides for newer codes (SSP-CLIENT-22).
    const retryable = known?.retryable ?? body.retryable;
    // SSP-CLIENT-18: the longer of retryAfterMs and Retry-After.
    const waitMs = Math.max(body.retryAfterMs ?? 0, advisedMs ?? 0);
    throw new SspServerError(body, status, retryable, body.retryAfterMs === undefined && advisedMs === undefined ? undefined : waitMs);
  }
  if (status !== 200) throw invalid(`a ${body.type} message with status ${status}`);
  if (!answers[message.type].has(body.type)) throw invalid(`a ${body.type} message does not answer ${message.type}`);
  return body;
}

/**
 * SSP-CLIENT-19: an invalid answer with status 200, 408, 429 or 5xx is transient damage (a
 * proxy's page, a garbled body) and is retried; any other status will not change by repeating.
 * SSP-CLIENT-20: a 401 or 403 is an authorization failure whatever the body.
 */
function invalidAnswer(status: number, why: string, advisedMs: number | undefined, headers: { get(name: string): string | null }) {
  if (status === 401 || status === 403) return authError(status, headers, undefined, why);
  const retryable = status === 200 || status === 408 || status === 429 || (status >= 500 && status <= 599);
  return new SspProtocolError(`HTTP ${status}: ${why}`, status, retryable, advisedMs);
}

function authError(status: number, headers: { get(name: string): string | null }, body: ErrorMessage | undefined, detail: string) {
  const named: string | undefined = body?.code;
  const code = named === 'unauthorized' || (named !== 'forbidden' && status === 401) ? 'unauthorized' : 'forbidden';
  return new SspAuthError(code, status, headers.get('www-authenticate') ?? undefined, body, detail);
}

async function exchange(
  fetch: FetchLike,
  endpoint: string,
  message: ClientMessage,
  { signal, timeoutMs, keepalive, settings, onSend }: ExchangeOptions,
): Promise<{ status: number; headers: { get(name: string): string | null }; text: string }> {
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
    // Synchronous when it can be: a close on `pagehide` must start before the handler returns.
    const extra = settings.headers();
    const headers = { ...(extra instanceof Promise ? await extra : extra), ...contentType };
    const init = { method: 'POST' as const, headers, body, signal: controller.signal, ...settings.init, ...(keepalive ? { keepalive } : {}) };
    onSend?.();
    const response = await fetch(endpoint, init);
    // Reading the body is part of the exchange: a connection dropped mid-answer rejects here.
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
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
