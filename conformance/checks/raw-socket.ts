// Requests no HTTP client library sends (a body that never finishes, malformed framing),
// written on a socket directly, with the user's -H headers where the request has a header
// section, and recorded in the check's evidence like every other exchange.
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, rootCertificates } from 'node:tls';
import type { CheckContext, Exchange } from '../check.ts';

export interface SocketAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The request line and header lines (user's -H headers first, `Connection: close` last) for the endpoint. */
export function requestHead(ctx: CheckContext, method: string, headers: Record<string, string>): string {
  const url = ctx.endpoint;
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries({ ...ctx.headers, ...headers }).map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Write `bytes` to a fresh connection to the endpoint and wait up to `waitMs` for one HTTP/1.1
 * answer (null if none came in time). `request` is what the evidence shows as the request.
 */
export function socketExchange(ctx: CheckContext, bytes: string[], waitMs: number, request: Exchange['request']): Promise<SocketAnswer | null> {
  const url = ctx.endpoint;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const exchange: Exchange = { request };
  ctx.evidence.push(exchange);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = url.protocol === 'https:' ? connectTls({ host: url.hostname, port, ...(isIP(url.hostname) === 0 && { servername: url.hostname }), ...(ctx.ca !== undefined && { ca: [...rootCertificates, ctx.ca.toString()] }) }) : connectTcp({ host: url.hostname, port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (answer: SocketAnswer | null, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const ms = Math.round(performance.now() - started);
      if (answer) exchange.response = { status: answer.status, headers: answer.headers, body: answer.body, ms };
      else exchange.error = error ?? `no answer within ${ms} ms`;
      resolve(answer);
    };
    const timer = setTimeout(() => finish(null), waitMs);
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      for (const chunk of bytes) socket.write(chunk);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answer = parseAnswer(received);
      if (answer) finish(answer);
    });
    socket.on('end', () => finish(parseAnswer(received, true), 'connection closed without an answer'));
    socket.on('error', (error) => {
      // A server may reset the connection right after its answer: keep what arrived.
      const answer = parseAnswer(received, true);
      if (answer) finish(answer);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        exchange.error = error.message;
        try {
          ctx.fail(`${request.method} on a raw socket: ${error.message}`);
        } catch (failure) {
          reject(failure);
        }
      }
    });
  });
}

/** A complete HTTP/1.1 answer (or, at end of stream, whatever arrived after the head). */
function parseAnswer(data: Buffer, ended = false): SocketAnswer | null {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined && rest.length >= length) return { status, headers, body: rest.subarray(0, length).toString('utf8') };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked' && rest.includes('0\r\n\r\n')) return { status, headers, body: dechunk(rest) };
  return ended ? { status, headers, body: rest.toString('utf8') } : null;
}

function dechunk(data: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const lineEnd = data.indexOf('\r\n', offset);
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}
