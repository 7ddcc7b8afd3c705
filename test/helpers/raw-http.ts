// Raw HTTP/1.1 over a TCP socket, for what no HTTP client will send: malformed framing,
// trickled bytes, bodies that never finish. Bounded: every exchange ends by `timeoutMs`.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface RawAnswer {
  /** Everything the server sent, latin1. */
  text: string;
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  json: any;
  /** How the exchange ended: the server closed (cleanly or by reset), or we stopped waiting. */
  ended: 'answered' | 'closed' | 'reset' | 'timeout';
  /** Bytes of the request we had written when the exchange ended. */
  bytesWritten: number;
}

export interface RawOptions {
  /** Written once connected. */
  head?: string | Buffer;
  /** Then written one piece every `everyMs` while the socket is writable. */
  trickle?: { piece: string | Buffer; everyMs: number; count?: number; thenEnd?: boolean };
  /** Stop waiting after this long (the exchange then ends as 'timeout'). Default 10 000. */
  timeoutMs?: number;
  /** Half-close our side once `head` is written (a request cut short). */
  endAfterHead?: boolean;
  /** Resolve ('answered') as soon as a whole response (headers and Content-Length body) has arrived. */
  untilAnswer?: boolean;
}

export function parseAnswer(text: string): Pick<RawAnswer, 'status' | 'headers' | 'body' | 'json'> {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  const body = split < 0 ? '' : text.slice(split + 4);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: status === undefined ? undefined : Number(status), headers, body, json };
}

function complete(text: string): boolean {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))?.[1];
  return length !== undefined && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length);
}

export function rawExchange(port: number, options: RawOptions): Promise<RawAnswer> {
  const { head, trickle, timeoutMs = 10_000, untilAnswer = false, endAfterHead = false } = options;
  return new Promise((resolve) => {
    // Half-open: like a proxy forwarding a body, keep sending after the server's FIN.
    const socket: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    let bytesWritten = 0;
    let interval: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (ended: RawAnswer['ended']) => {
      if (done) return;
      done = true;
      clearInterval(interval);
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, ended, bytesWritten, ...parseAnswer(text) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const write = (data: string | Buffer) => {
      if (!socket.writable) return;
      bytesWritten += Buffer.byteLength(data);
      socket.write(data);
    };
    socket.on('connect', () => {
      if (head !== undefined) write(head);
      if (endAfterHead) socket.end();
      if (trickle) {
        let sent = 0;
        interval = setInterval(() => {
          if (trickle.count !== undefined && sent++ >= trickle.count) {
            clearInterval(interval);
            if (trickle.thenEnd) socket.end();
            return;
          }
          write(trickle.piece);
        }, trickle.everyMs);
      }
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (untilAnswer && complete(text)) finish('answered');
    });
    // The server's FIN: stop, unless a counted trickle is meant to go on (as a proxy would).
    socket.on('end', () => {
      if (trickle?.count === undefined) {
        clearInterval(interval);
        socket.end();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : 'closed'));
    socket.on('close', () => finish('closed'));
  });
}
