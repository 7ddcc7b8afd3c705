// Below the application: requests Node's HTTP parser rejects before any handler sees them,
// header and body timeouts that hold, and closing a connection whose request body is still
// arriving without resetting it. Spec §15 (D2): framing errors get the JSON error with
// `Cache-Control: no-store` and `Connection: close`.
import type { Server, ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { SspError } from '../errors.ts';
import { ALLOWED_METHODS } from './http.ts';

export interface FramingOptions {
  /** The request line and headers must arrive within this long. */
  headersTimeoutMs: number;
  /** The body must arrive within this long after the headers. */
  bodyTimeoutMs: number;
}

/**
 * How long a connection we are closing keeps reading (and discarding) what the client still
 * sends. RFC 9112 §9.6: closing with unread bytes makes the kernel send RST, which can wipe
 * the answer from the client's receive buffer; a proxy forwarding the body reports it as 502.
 */
export const LINGER_MS = 2000;

/** Node's http.Server options for these bounds. */
export function framingServerOptions({ headersTimeoutMs, bodyTimeoutMs }: FramingOptions): ServerOptions {
  return {
    headersTimeout: headersTimeoutMs,
    // Node's bound on receiving the whole request (not on answering it: a held poll is not
    // affected). Our own body timer (bodyTimeoutMs) answers first; this is the backstop.
    requestTimeout: headersTimeoutMs + bodyTimeoutMs,
    // Node checks both bounds only this often (default 30 s, which let a 10 s header timeout
    // stretch to 40 s): a tenth of the shorter bound, so the cut comes within 10 % of it.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(headersTimeoutMs, bodyTimeoutMs) / 10))),
    // Host is checked by the endpoint, which answers its absence with the JSON error.
    requireHostHeader: false,
  };
}

const TOKEN_THEN_SPACE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ /;

/** The typed error for a parser or timeout failure (err.code from Node / llhttp). */
export function framingError(error: Error & { code?: string; rawPacket?: Buffer }): SspError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new SspError('headers-too-large', 'request header section is larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new SspError('request-timeout', 'request headers or body were not received in time');
    case 'HPE_INVALID_METHOD': {
      // llhttp knows a fixed list of methods; a well-formed token it does not know is an
      // unknown method (405), anything else in that place is garbage (400).
      const start = error.rawPacket?.subarray(0, 64).toString('latin1') ?? '';
      if (TOKEN_THEN_SPACE.test(start)) {
        return new SspError('method-not-allowed', `method ${start.slice(0, start.indexOf(' '))} is not allowed; use GET, HEAD, POST or OPTIONS`);
      }
      return new SspError('bad-request', 'malformed HTTP request line');
    }
    default:
      return new SspError('bad-request', `malformed HTTP request: ${error.message.replace(/^Parse Error: /, '')}`);
  }
}

/** Raw HTTP/1.1 bytes of an error answer, for a socket whose request never became a request. */
export function rawErrorResponse(error: SspError): string {
  const body = JSON.stringify(error.toMessage());
  const headers = [
    `HTTP/1.1 ${error.status} ${REASONS[error.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...(error.code === 'method-not-allowed' ? [`Allow: ${ALLOWED_METHODS}`] : []),
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Half-closes the socket and discards what still arrives for at most LINGER_MS, then closes. */
export function lingeringClose(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Makes Node's own close after the last response (socket.destroySoon, called once a
 * `Connection: close` answer is written) a lingering close: for an answer sent while the
 * request body is still arriving (413 before the rest of the body, 415 and 405 with a large one).
 */
export function lingerAfterResponse(socket: Duplex): void {
  (socket as Duplex & { destroySoon?: () => void }).destroySoon = () => lingeringClose(socket);
}

/**
 * Answers parser errors and Node's header/request timeouts with the JSON error. When an
 * answer is already under way on that connection (its headers sent), the connection can
 * only be cut.
 */
export function handleClientErrors(server: Server): void {
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (answered.has(socket)) return; // the parser stays in error and reports every later chunk
    answered.add(socket);
    socket.on('error', () => {}); // a peer reset while we answer is not our failure
    // The response in progress on this connection, as Node's own default handler reads it.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.write(rawErrorResponse(framingError(error)));
    lingeringClose(socket);
  });
  // CONNECT never reaches the request handler; without a listener Node drops the connection.
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => {});
    socket.write(rawErrorResponse(new SspError('method-not-allowed', 'method CONNECT is not allowed; use GET, POST or OPTIONS')));
    lingeringClose(socket);
  });
  // RFC 9110 §10.1.1: a server MAY ignore an expectation it does not support; Node would
  // answer 417 in plain text, so the request is served as if it had none.
  server.on('checkExpectation', (req, res) => server.emit('request', req, res));
}
