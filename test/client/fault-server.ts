// A minimal SSP/1 server for client tests: one finite (or endless) stream "counter" whose
// events are {n} with seq = n, signatures that encode session and position (so a
// "restart" that forgets every session still resumes each at its position), and a
// scripted schedule of faults applied to the POSTs in the order they arrive.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import errorCodes from '../../schemas/error-codes.json' with { type: 'json' };
import type { ErrorCode, ServerMessage, TerminationMessage } from '../../schemas/types.gen.ts';

export type Fault =
  | 'ok'
  | 'drop' // full headers and half the body, then the connection is destroyed
  | 'reset' // the connection is destroyed before any answer
  | 'bad-gateway' // 502 with an HTML page, as a proxy sends
  | 'unavailable' // 503 plain text, no Retry-After
  | 'malformed' // 200 with truncated JSON
  | 'invalid' // 200 with JSON that is not a valid SSP message
  | 'restart' // forget every session and cut every other connection, then answer correctly
  | 'duplicate' // answer correctly, re-sending the two events before the position too
  | 'empty' // an empty batch at once, position unchanged
  | 'gap' // a batch that skips two events, announced by `gap`
  | 'skip' // a batch that skips two events without announcing them (a server bug)
  | 'stale' // an answer sent earlier, arriving late: events p-2..p-1 and a signature at p-1 (needs p >= 3)
  | 'overlap-gap' // a gap from p-1 to p+1 (overlapping events the client has), then events from p+2
  | 'behind-gap' // a re-delivered gap from 1 to p-1 and event p again, signature at p (needs p >= 2)
  | 'inverted-gap' // a batch whose gap has from > to (invalid answer)
  | 'wrong-type' // a session message answering a poll (invalid answer)
  | 'error-as-200' // an SSP error body with status 200 (status and body disagree)
  | 'not-found' // 404 with an HTML page, as a gateway sends for a wrong path
  | 'gateway-401' // 401 with an HTML page and WWW-Authenticate, as an authentication gateway sends
  | 'ext' // the correct answer, carrying unknown ext members (events carry none: the batch's ext is theirs)
  | { delayMs: number } // hold the headers back, then answer correctly
  | { retryAfterSeconds: number } // 503 plain text with Retry-After
  | { retryAfterMs: number } // 503 SSP `unavailable` error with retryAfterMs (+ Retry-After)
  | { error: ErrorCode } // an SSP error message with the code's status
  | { error: string; status: number; retryable: boolean; retryAfterSeconds?: number } // any code, e.g. one this client does not know
  | { terminate: string; action: string; delayMs?: number };

export interface FaultServerOptions {
  /** Name of the one stream offered. Default 'counter'. */
  stream?: string;
  /** Events in the stream; Infinity for an endless one. */
  events: number;
  /** Event n's data. Default {n}. */
  data?: (n: number) => unknown;
  /** How many events exist at start (default all); `release()` adds more. */
  available?: number;
  batchSize?: number;
  holdMs?: number;
  faults?: Fault[];
  /** Serve a discovery document with these limits on GET /ssp (default: 404, no discovery). */
  limits?: Record<string, number>;
  /** Extra GET routes (path → content), for pages in browser tests. */
  files?: Record<string, { type: string; body: string }>;
}

export interface LoggedRequest {
  type: string;
  session?: number;
  position?: number;
  contentType: string | undefined;
  authorization: string | undefined;
  hold?: number;
  fault: Fault;
  at: number;
}

interface Session {
  closed?: TerminationMessage;
  held?: { position: number; answer(body: ServerMessage): void; wake(): void } | undefined;
}

type Message = { type?: unknown; stream?: unknown; sig?: unknown; hold?: unknown };

const codes = new Map(errorCodes.map((entry) => [entry.code, entry]));

const sig = (session: number, position: number) => `faultsig.session-${session}.pos-${position}`;
const sigPattern = /^faultsig\.session-(\d+)\.pos-(\d+)$/;

export async function startFaultServer(options: FaultServerOptions) {
  const { stream = 'counter', events: total, batchSize = 3, holdMs = 500 } = options;
  let available = Math.min(options.available ?? total, total);
  const faults = [...(options.faults ?? [])];
  const sessions = new Map<number, Session>();
  const sockets = new Set<Socket>();
  const helds = new Set<NonNullable<Session['held']>>(); // across restarts, so close() clears every timer
  const requests: LoggedRequest[] = [];
  const closes: string[] = [];
  let nextSession = 1;
  let abandonedPolls = 0;
  let gets = 0;

  const dataOf = options.data ?? ((n: number) => ({ n }));
  const event = (n: number) => ({ seq: n, data: dataOf(n) });
  const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => event(from + i));
  type Reason = TerminationMessage['reason'];
  type Action = TerminationMessage['advice']['action'];
  // Any reason and action: unknown ones test the client's forward compatibility (SSP-CLIENT-23).
  const termination = (id: number, position: number, reason: Reason | string, action: Action | string, delayMs?: number): TerminationMessage =>
    ({
      ssp: 1,
      type: 'termination',
      sig: sig(id, position),
      reason,
      last: Math.min(available, total),
      advice: delayMs === undefined ? { action } : { action, delayMs },
    }) as TerminationMessage;
  const errorBody = (code: ErrorCode, extra: object = {}) => ({
    ssp: 1,
    type: 'error',
    code,
    message: `fault server: ${code}`,
    retryable: codes.get(code)?.retryable ?? false,
    ...extra,
  });

  function session(id: number): Session {
    let s = sessions.get(id);
    if (!s) sessions.set(id, (s = {})); // unknown but verified signature: re-create at its position (§8)
    return s;
  }

  function batchFrom(id: number, position: number, duplicate: boolean): ServerMessage {
    const last = Math.min(position + batchSize, available);
    const from = duplicate ? Math.max(1, position - 1) : position + 1;
    return { ssp: 1, type: 'batch', sig: sig(id, last), events: range(from, last) };
  }

  const empty = (id: number, position: number): ServerMessage => ({ ssp: 1, type: 'batch', sig: sig(id, position), events: [] });

  /** The correct answer: at once, or after holding the poll (§10). */
  function answer(message: Message, duplicate: boolean): Promise<[number, ServerMessage]> {
    if (message.type === 'open') {
      if (message.stream !== stream) return Promise.resolve([404, errorBody('unknown-stream') as ServerMessage]);
      const id = nextSession++;
      sessions.set(id, {});
      return Promise.resolve([200, { ssp: 1, type: 'session', sig: sig(id, 0), stream, position: 0 }]);
    }
    const match = typeof message.sig === 'string' ? sigPattern.exec(message.sig) : null;
    if (!match) return Promise.resolve([403, errorBody('invalid-signature') as ServerMessage]);
    const id = Number(match[1]);
    const position = Number(match[2]);
    const s = session(id);
    if (message.type === 'close') {
      closes.push(message.sig as string);
      s.closed ??= termination(id, position, 'closed', 'none');
      s.held?.answer(s.closed);
      return Promise.resolve([200, s.closed]);
    }
    if (s.closed) return Promise.resolve([200, s.closed]);
    if (position >= total) return Promise.resolve([200, termination(id, position, 'complete', 'none')]);
    if (position < available) return Promise.resolve([200, batchFrom(id, position, duplicate)]);
    // §10: a newer poll supersedes the held one, which gets an empty batch at its own position.
    s.held?.answer(empty(id, s.held.position));
    return new Promise((resolve) => {
      const timer = setTimeout(() => held.answer(empty(id, position)), holdMs);
      const held = {
        position,
        answer(body: ServerMessage) {
          clearTimeout(timer);
          helds.delete(held);
          if (s.held === held) s.held = undefined;
          resolve([200, body]);
        },
        wake() {
          held.answer(position < available ? batchFrom(id, position, false) : empty(id, position));
        },
      };
      s.held = held;
      helds.add(held);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/ssp' && options.limits) {
      gets += 1;
      const discovery = { ssp: 1, type: 'discovery', versions: [1], limits: options.limits, streams: [{ name: stream, resumable: true }] };
      return send(res, 200, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(discovery));
    }
    if (req.method === 'GET' || path !== '/ssp') {
      const file = req.method === 'GET' ? options.files?.[path] : undefined;
      if (!file) return send(res, 404, { 'content-type': 'text/plain' }, 'not found');
      return send(res, 200, { 'content-type': file.type }, file.body);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Message;
    const fault = faults.shift() ?? 'ok';
    const match = typeof message.sig === 'string' ? sigPattern.exec(message.sig) : null;
    requests.push({
      type: String(message.type),
      ...(match ? { session: Number(match[1]), position: Number(match[2]) } : {}),
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      ...(typeof message.hold === 'number' ? { hold: message.hold } : {}),
      fault,
      at: Date.now(),
    });
    const json = { 'content-type': 'application/json; charset=utf-8' };
    if (fault === 'reset') return req.socket.destroy();
    if (fault === 'bad-gateway') return send(res, 502, { 'content-type': 'text/html' }, '<html><body>502 Bad Gateway</body></html>');
    if (fault === 'unavailable') return send(res, 503, { 'content-type': 'text/plain' }, 'Service Unavailable');
    if (fault === 'malformed') return send(res, 200, json, '{"ssp":1,"type":"batch","sig":"faultsig.sess');
    if (fault === 'invalid') return send(res, 200, json, '{"ssp":1,"type":"batch","sig":"faultsig.session-1.pos-0","events":"none"}');
    if (typeof fault === 'object' && 'retryAfterSeconds' in fault) {
      return send(res, 503, { 'content-type': 'text/plain', 'retry-after': String(fault.retryAfterSeconds) }, 'Service Unavailable');
    }
    if (typeof fault === 'object' && 'retryAfterMs' in fault) {
      const body = errorBody('unavailable', { retryAfterMs: fault.retryAfterMs });
      return send(res, 503, { ...json, 'retry-after': String(Math.ceil(fault.retryAfterMs / 1000)) }, JSON.stringify(body));
    }
    if (typeof fault === 'object' && 'error' in fault && 'status' in fault) {
      const body = { ssp: 1, type: 'error', code: fault.error, message: `fault server: ${fault.error}`, retryable: fault.retryable };
      const after: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return send(res, fault.status, { ...json, ...after }, JSON.stringify(body));
    }
    if (typeof fault === 'object' && 'error' in fault) {
      const challenge: Record<string, string> = fault.error === ('unauthorized' as ErrorCode) ? { 'www-authenticate': 'Bearer realm="ssp"' } : {};
      return send(res, codes.get(fault.error)?.status ?? 400, { ...json, ...challenge }, JSON.stringify(errorBody(fault.error)));
    }
    if (fault === 'not-found') return send(res, 404, { 'content-type': 'text/html' }, '<html><body>404 Not Found</body></html>');
    if (fault === 'gateway-401') {
      return send(res, 401, { 'content-type': 'text/html', 'www-authenticate': 'Bearer realm="gateway"' }, '<html><body>401 Authorization Required</body></html>');
    }
    if (fault === 'error-as-200') return send(res, 200, json, JSON.stringify(errorBody('internal-error')));
    if (fault === 'wrong-type' && match) {
      return send(res, 200, json, JSON.stringify({ ssp: 1, type: 'session', sig: message.sig, stream, position: Number(match[2]) }));
    }
    if (match && (fault === 'stale' || fault === 'overlap-gap' || fault === 'behind-gap' || fault === 'inverted-gap')) {
      const [id, p] = [Number(match[1]), Number(match[2])];
      const bodies = {
        stale: { events: range(p - 2, p - 1), sig: sig(id, p - 1) },
        'overlap-gap': { gap: { from: p - 1, to: p + 1 }, events: range(p + 2, Math.min(p + 4, available)), sig: sig(id, Math.min(p + 4, available)) },
        'behind-gap': { gap: { from: 1, to: p - 1 }, events: range(p, p), sig: sig(id, p) },
        'inverted-gap': { gap: { from: p + 3, to: p + 1 }, events: range(p + 2, p + 2), sig: sig(id, p + 2) },
      };
      return send(res, 200, json, JSON.stringify({ ssp: 1, type: 'batch', ...bodies[fault] }));
    }
    if (typeof fault === 'object' && 'terminate' in fault && match) {
      const body = termination(Number(match[1]), Number(match[2]), fault.terminate, fault.action, fault.delayMs);
      return send(res, 200, json, JSON.stringify(body));
    }
    if (fault === 'empty' && match) return send(res, 200, json, JSON.stringify(empty(Number(match[1]), Number(match[2]))));
    if ((fault === 'gap' || fault === 'skip') && match) {
      const [id, position] = [Number(match[1]), Number(match[2])];
      const last = Math.min(position + 2 + batchSize, available);
      const gap = fault === 'gap' ? { gap: { from: position + 1, to: position + 2 } } : {};
      const body = { ssp: 1, type: 'batch', sig: sig(id, last), ...gap, events: range(position + 3, last) };
      return send(res, 200, json, JSON.stringify(body));
    }
    if (fault === 'restart') {
      sessions.clear();
      for (const socket of sockets) if (socket !== req.socket) socket.destroy();
    }
    if (typeof fault === 'object' && 'delayMs' in fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    res.on('close', () => {
      if (!res.writableEnded) abandonedPolls += 1;
    });
    const [status, body] = await answer(message, fault === 'duplicate');
    const text = JSON.stringify(fault === 'ext' ? withExt(body) : body);
    if (fault !== 'drop') return send(res, status, json, text);
    res.writeHead(status, { ...json, 'content-length': Buffer.byteLength(text) });
    res.write(text.slice(0, text.length >> 1), () => res.socket?.destroy());
  }

  function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string) {
    if (res.destroyed) return;
    res.writeHead(status, { 'cache-control': 'no-store', ...headers });
    res.end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, String(error));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/ssp`,
    requests,
    closes,
    /** Discovery documents served. */
    get discoveryReads() {
      return gets;
    },
    /** Held polls whose connection the client closed before the answer. */
    get abandonedPolls() {
      return abandonedPolls;
    },
    /** Polls being held now. */
    get heldPolls() {
      return helds.size;
    },
    /** Makes `count` more events exist, answering held polls. */
    release(count: number) {
      available = Math.min(available + count, total);
      for (const s of sessions.values()) s.held?.wake();
    },
    close(): Promise<void> {
      for (const held of helds) held.wake();
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** `body` with extension members no client understands (D1: a receiver ignores them, SSP-CLIENT-21). */
function withExt(body: ServerMessage): object {
  return { ...body, ext: { 'com.example.trace': { id: 'abc' }, future: [1, 2] } };
}

export type FaultServer = Awaited<ReturnType<typeof startFaultServer>>;
