// CheckContext (check.ts): the only way a check talks to the server. Records every
// exchange as evidence, adds the user's -H headers, bounds every request by a timeout
// derived from the advertised limits, and runs the wire check on every JSON answer.
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { DiscoveryDocument, ServerMessage, SessionMessage } from '../schemas/types.gen.ts';
import type { Answer, CheckContext, Exchange, RawAnswer, RawRequest } from './check.ts';
import { CheckFailure } from './check.ts';
import { clipBody, flattenHeaders, lowerCaseHeaders } from './evidence.ts';
import { requestTimeoutMs, toleranceMs } from './timing.ts';
import { describeWireErrors, wireErrors } from './wire-check.ts';
import { ResponseAudit } from './audit.ts';
import type { ServerControl } from './server-process.ts';
import { earlySlackMs, lateSlackMs, roundTripSamples } from './timing.ts';
import { unknownExt } from './unknown-ext.ts';

export interface ContextOptions {
  endpoint: URL;
  discovery: DiscoveryDocument;
  /** Sent with every request (the CLI's -H); a check's own headers win. */
  headers?: Record<string, string>;
  /** The Origin the CORS checks send (default: defaultOrigin). */
  origin?: string;
  timeoutScale?: number;
  /** Shared connection pool (agent.ts); undici's global dispatcher when absent. */
  dispatcher?: Dispatcher;
  /** Extra trusted PEM certificates (--ca). */
  ca?: string | Buffer;
  /** Aborted when the runner stops the check: cancels its requests and sleeps. */
  signal?: AbortSignal;
  /** Judges every response from the endpoint (shared by the run's checks). */
  audit?: ResponseAudit;
  /** The check this context belongs to, named in audit findings. */
  checkId?: string;
  /** The server process (--server-command). */
  server?: ServerControl;
}

/** An origin no server can have allowed on purpose (.invalid, RFC 6761): a server that allows it allows any origin. */
export const defaultOrigin = 'https://conformance.xanjax.invalid';

type Json = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): Json {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function describeAnswer(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { type, code, message } = body as { type?: unknown; code?: unknown; message?: unknown };
    if (type === 'error') return `${status} error ${String(code)}: ${String(message)}`;
    return `${status} ${String(type)}`;
  }
  return String(status);
}

function transportError(error: unknown): string {
  const { name, code, message, cause } = error as { name?: string; code?: string; message?: string; cause?: unknown };
  if (cause !== undefined && (code === undefined || name === 'TypeError')) return transportError(cause);
  return [code ?? name, message].filter(Boolean).join(': ');
}

/**
 * Marks a promise as handled while callers awaiting it still see its rejection: a check
 * may start a request (a held poll) and fail before awaiting it, and that request is
 * aborted when the check ends; its rejection must not crash the run as unhandled.
 */
function handled<A extends unknown[], T>(fn: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  return (...args) => {
    const promise = fn(...args);
    promise.catch(() => {});
    return promise;
  };
}

export function createContext(options: ContextOptions): CheckContext {
  const { endpoint, discovery, dispatcher } = options;
  const scale = options.timeoutScale ?? 1;
  const userHeaders = lowerCaseHeaders(options.headers ?? {});
  const checkSignal = options.signal ?? new AbortController().signal;
  const evidence: Exchange[] = [];
  const audit = options.audit ?? new ResponseAudit();

  function fail(message: string): never {
    throw new CheckFailure(message, evidence);
  }

  async function raw(init: RawRequest = {}, url: URL = endpoint): Promise<RawAnswer> {
    checkSignal.throwIfAborted();
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = { ...(init.withoutUserHeaders ? {} : userHeaders), ...lowerCaseHeaders(init.headers ?? {}) };
    const bodyText = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : Buffer.from(init.body).toString('utf8');
    const exchange: Exchange = { request: { method, url: url.href, headers, ...(bodyText === undefined ? {} : { body: clipBody(bodyText) }) } };
    evidence.push(exchange);
    const timeoutMs = init.timeoutMs ?? requestTimeoutMs(discovery.limits, scale);
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    let status: number;
    let responseHeaders: Record<string, string>;
    let text: string;
    try {
      const response = await request(url, {
        method: method as Dispatcher.HttpMethod,
        // A streamed body declares its length itself (else HTTP/1.1 would send it chunked).
        headers: init.body !== undefined && headers['content-length'] === undefined ? { ...headers, 'content-length': String(Buffer.byteLength(init.body)) } : headers,
        ...(init.body === undefined ? {} : { body: requestBody(method, init.body) }),
        signal: AbortSignal.any([timeout, checkSignal]),
        ...(dispatcher ? { dispatcher } : {}),
      });
      status = response.statusCode;
      responseHeaders = flattenHeaders(response.headers);
      text = await response.body.text();
    } catch (error) {
      // The runner gave up on this check: its result is already decided.
      if (checkSignal.aborted) throw checkSignal.reason;
      exchange.error = timeout.aborted ? `no complete response within ${timeoutMs} ms` : transportError(error);
      throw new CheckFailure(`${method} ${url.href}: ${exchange.error}`, evidence);
    }
    const ms = Math.round(performance.now() - started);
    exchange.response = { status, headers: responseHeaders, body: clipBody(text), ms };
    if (url.href === endpoint.href) audit.observe(options.checkId ?? '(no check)', exchange);
    // Wire check: every JSON body from the endpoint is an SSP message (discovery included).
    if (url.href === endpoint.href && text.length > 0) {
      const json = parseJson(text);
      if (json.ok) {
        const errors = wireErrors(json.value);
        if (errors) fail(describeWireErrors(json.value, errors));
      }
    }
    return { status, headers: responseHeaders, text, exchange, ms };
  }

  async function send<T = unknown>(message: unknown, init: Omit<RawRequest, 'body'> = {}): Promise<Answer<T>> {
    const answer = await raw({
      ...init,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...lowerCaseHeaders(init.headers ?? {}) },
      body: JSON.stringify(message),
    });
    const json = parseJson(answer.text);
    if (!json.ok) fail(`expected a JSON server message, got ${answer.status} with body ${JSON.stringify(answer.text.slice(0, 200))}`);
    return { status: answer.status, headers: answer.headers, body: json.value as T, exchange: answer.exchange };
  }

  const isBadRequest = (answer: Answer<unknown>) => answer.status === 400 && (answer.body as { code?: unknown } | null)?.code === 'bad-request';

  /**
   * open, poll and close carry ext members no server understands (issue 8 §3), which a server
   * must process as if they were absent (SSP-EXT-1). A bad-request that the same message
   * without them does not get is recorded for SSP-EXT-1/every-request, and the check goes on
   * with the answer to the message without them, so that it still tests what it is for.
   */
  async function sendWithExt<T>(message: Record<string, unknown>, init: Omit<RawRequest, 'body'> = {}): Promise<Answer<T>> {
    const answer = await send<T>({ ...message, ext: unknownExt }, init);
    if (!isBadRequest(answer)) return answer;
    const plain = await send<T>(message, init);
    if (isBadRequest(plain)) return answer;
    audit.report({
      requirement: 'SSP-EXT-1',
      problem: `${String(message.type)} with unknown ext members: 400 bad-request; the same ${String(message.type)} without them: ${plain.status}`,
      check: options.checkId ?? '(no check)',
      exchange: answer.exchange,
    });
    return plain;
  }

  async function open(stream: string, params?: Record<string, unknown>): Promise<Answer<SessionMessage>> {
    const answer = await sendWithExt<ServerMessage>({ ssp: 1, type: 'open', stream, ...(params === undefined ? {} : { params }) });
    if (answer.status !== 200 || answer.body.type !== 'session') {
      fail(`open '${stream}': expected 200 session, got ${describeAnswer(answer.status, answer.body)}`);
    }
    return answer as Answer<SessionMessage>;
  }

  function poll(sig: string, hold?: number, init: Omit<RawRequest, 'body'> = {}): Promise<Answer<ServerMessage>> {
    return sendWithExt<ServerMessage>(
      { ssp: 1, type: 'poll', sig, ...(hold === undefined ? {} : { hold }) },
      { timeoutMs: requestTimeoutMs(discovery.limits, scale, hold), ...init },
    );
  }

  function close(sig: string): Promise<Answer<ServerMessage>> {
    return sendWithExt<ServerMessage>({ ssp: 1, type: 'close', sig });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (checkSignal.aborted) return reject(checkSignal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(checkSignal.reason);
      };
      const timer = setTimeout(() => {
        checkSignal.removeEventListener('abort', onAbort);
        resolve();
      }, ms * scale);
      checkSignal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Best of several discovery GETs: the round trip of this server's HTTP stack, measured
   * apart from holding (a server slow at hold 0 must not widen its own allowance).
   */
  async function lateSlack(): Promise<{ ms: number; roundTripMs: number; how: string }> {
    const samples: number[] = [];
    for (let i = 0; i < roundTripSamples; i++) {
      const started = performance.now();
      await raw({ method: 'GET' });
      samples.push(performance.now() - started);
    }
    const roundTripMs = Math.round(Math.min(...samples) * 10) / 10;
    return { ms: lateSlackMs(roundTripMs, scale), roundTripMs, how: `best of ${roundTripSamples} discovery GETs` };
  }

  return {
    endpoint,
    headers: userHeaders,
    origin: options.origin ?? defaultOrigin,
    ...(options.ca !== undefined && { ca: options.ca }),
    discovery,
    timeoutScale: scale,
    evidence,
    tolerance: toleranceMs(discovery.limits, scale),
    earlySlack: earlySlackMs,
    lateSlack: handled(lateSlack),
    audit,
    raw: handled(raw),
    send: handled(send) as CheckContext['send'],
    open: handled(open),
    poll: handled(poll),
    close: handled(close),
    fail,
    assert(condition: unknown, message: string): asserts condition {
      if (!condition) fail(message);
    },
    sleep: handled(sleep),
    ...(options.server ? { server: options.server } : {}),
  };
}

/**
 * undici's HTTP/2 client rejects a buffered body on a method that does not expect one
 * (DELETE, OPTIONS…: "buffer body must have content length"); the same bytes as a one-chunk
 * iterable go through on HTTP/2 and HTTP/1.1 alike.
 */
function requestBody(method: string, body: string | Uint8Array): string | Uint8Array | Readable {
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') return body;
  return Readable.from([typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}
