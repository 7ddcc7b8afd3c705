// SSP-TRANSPORT-9 needs a request whose body never finishes: the server must answer 413
// once maxBodyBytes + 1 bytes arrived, without waiting for the rest. The context's
// requests always send whole bodies, so this one exchange is written on a socket directly
// (with the user's -H headers, and recorded in the check's evidence like every other exchange).
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, rootCertificates } from 'node:tls';
import type { CheckContext, Exchange } from '../check.ts';

export interface PartialAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * POST a body announced as `declared` bytes but send only `sent` of them, then wait up to
 * `waitMs` for the answer (null if none came: the server waited for the rest).
 */
export function postPartialBody(ctx: CheckContext, sent: string, declared: number, waitMs: number): Promise<PartialAnswer | null> {
  const url = ctx.endpoint;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const headers = { ...ctx.headers, 'content-type': 'application/json', 'content-length': String(declared) };
  const head = [`POST ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
  const exchange: Exchange = {
    request: { method: 'POST', url: url.href, headers, body: `${sent.slice(0, 200)}… (${sent.length} of ${declared} bytes sent, the rest withheld)` },
  };
  ctx.evidence.push(exchange);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = url.protocol === 'https:' ? connectTls({ host: url.hostname, port, ...(isIP(url.hostname) === 0 && { servername: url.hostname }), ...(ctx.ca !== undefined && { ca: [...rootCertificates, ctx.ca.toString()] }) }) : connectTcp({ host: url.hostname, port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (answer: PartialAnswer | null, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const ms = Math.round(performance.now() - started);
      if (answer) exchange.response = { status: answer.status, headers: answer.headers, body: answer.body, ms };
      else exchange.error = error ?? `no answer within ${ms} ms while the body was incomplete`;
      resolve(answer);
    };
    const timer = setTimeout(() => finish(null), waitMs);
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      socket.write(sent);
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
          ctx.fail(`POST with a partial body: ${error.message}`);
        } catch (failure) {
          reject(failure);
        }
      }
    });
  });
}

/** A complete HTTP/1.1 answer (or, at end of stream, whatever arrived after the head). */
function parseAnswer(data: Buffer, ended = false): PartialAnswer | null {
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
