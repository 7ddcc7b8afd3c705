// The scripted SSP/1 server of the client kit (spec §20.5): one per scenario, on a free
// loopback port. It plays a simple stream by default — `count` events, `perBatch` to a
// batch, available at once, then `complete` — and a scenario's `answer` hook replaces any
// answer with the fault it scripts. Every request is recorded with the time it arrived,
// the signature it carried and how many polls were outstanding, for the wire checks.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Exchange } from '../check.ts';

export const streamName = 'conformance.client';

export const scriptLimits = {
  maxHoldMs: 1000,
  batchDelayMs: 0,
  maxBatchEvents: 10,
  maxBatchBytes: 65_536,
  idleTimeoutMs: 10_000,
  retainEvents: 100,
  maxBodyBytes: 16_384,
  terminationMemoryMs: 11_000,
};

/** What a signature stands for: a session and a position in it. */
export interface SigInfo {
  session: number;
  position: number;
  /** Multiplexed sessions (spec §23): each stream id the signature names, with its position. */
  streams?: Record<string, number>;
}

export interface RecordedRequest {
  /** ms since the scenario started. */
  at: number;
  method: string;
  contentType: string | undefined;
  headers: Record<string, string>;
  /** Parsed body (a client message) or undefined. */
  message?: Record<string, unknown>;
  raw: string;
  /** Signature info of the sig the message carried. */
  sig?: SigInfo;
  /** Polls of the same session still open when this one arrived (not counting itself). */
  concurrent: RecordedRequest[];
  /**
   * Polls of the same session outstanding when this one arrived: open and later answered. A
   * poll the client abandoned (closed its connection unanswered, e.g. to send changes at once)
   * was no longer outstanding for the client, even if its close reached the server only after
   * the next poll.
   */
  readonly outstanding: number;
  /** The client closed the connection before the answer was sent. */
  abandoned?: boolean;
  /** The request's URL (path or query, decoded) contains a signature this server issued (SSP-SECURITY-8). */
  signatureInUrl: boolean;
  /** ms since the scenario started when the answer was sent (undefined: dropped). */
  answeredAt?: number;
  exchange: Exchange;
}

export type Reply =
  | { status: number; body: Record<string, unknown>; headers?: Record<string, string>; delayMs?: number }
  | { drop: true; delayMs?: number };

/** What a scenario hook sees and may use. */
export interface ScriptState {
  requests: readonly RecordedRequest[];
  /** The default answer to this request (the plain stream). */
  plain(): Reply;
  /** A fresh signature for a session and position (and, multiplexed, each stream's position). */
  sign(session: number, position: number, streams?: Record<string, number>): string;
  /** Sessions opened so far. */
  sessions: number;
  count: number;
  ms(): number;
}

export interface ScriptOptions {
  count: number;
  perBatch: number;
  /** Discovery `limits` that differ from scriptLimits. */
  limits?: Partial<typeof scriptLimits>;
  /**
   * Answer hook: return a Reply (or a promise of one, for a poll held until something else
   * happens) to replace the plain answer, or undefined.
   */
  answer?(request: RecordedRequest, state: ScriptState): Reply | Promise<Reply> | undefined;
}

const json = (status: number, body: Record<string, unknown>): Reply => ({ status, body });

export interface ScriptedServer {
  endpoint: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

function safeDecode(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

export async function startScriptedServer(options: ScriptOptions): Promise<ScriptedServer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const sigs = new Map<string, SigInfo>();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let sessions = 0;
  let nonce = 0;
  const sign = (session: number, position: number, streams?: Record<string, number>) => {
    const sig = `s${session}p${position}n${nonce++}-${'x'.repeat(16)}`;
    sigs.set(sig, { session, position, ...(streams ? { streams } : {}) });
    return sig;
  };

  function plain(request: RecordedRequest): Reply {
    const message = request.message;
    if (request.method === 'GET') {
      return json(200, { ssp: 1, type: 'discovery', versions: [1], limits: { ...scriptLimits, ...options.limits }, streams: [{ name: streamName, resumable: true, paramsSchema: { type: 'object' } }], conformance: false });
    }
    if (request.method !== 'POST' || !message) return json(400, { ssp: 1, type: 'error', code: 'bad-request', message: 'expected a POST of a client message', retryable: false });
    if (message.type === 'open') {
      sessions++;
      return json(200, { ssp: 1, type: 'session', sig: sign(sessions, 0), stream: streamName, position: 0 });
    }
    const info = request.sig;
    if (!info) return json(403, { ssp: 1, type: 'error', code: 'invalid-signature', message: 'unknown signature', retryable: false });
    if (message.type === 'close') {
      return json(200, { ssp: 1, type: 'termination', reason: 'closed', sig: sign(info.session, info.position), last: info.position, advice: { action: 'none' } });
    }
    if (info.position >= options.count) {
      return json(200, { ssp: 1, type: 'termination', reason: 'complete', sig: sign(info.session, options.count), last: options.count, advice: { action: 'none' } });
    }
    const last = Math.min(options.count, info.position + options.perBatch);
    const events = Array.from({ length: last - info.position }, (_, i) => ({ seq: info.position + 1 + i, data: { n: info.position + 1 + i } }));
    return json(200, { ssp: 1, type: 'batch', sig: sign(info.session, last), events });
  }

  const open = new Map<number, Set<RecordedRequest>>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let message: Record<string, unknown> | undefined;
      try {
        const value = JSON.parse(raw) as unknown;
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) message = value as Record<string, unknown>;
      } catch {
        // Not JSON: recorded as raw.
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
      const sig = typeof message?.sig === 'string' ? sigs.get(message.sig) : undefined;
      const isPoll = message?.type === 'poll' && sig !== undefined;
      const recorded: RecordedRequest = {
        at: ms(),
        method: req.method ?? 'GET',
        contentType: req.headers['content-type'],
        headers,
        ...(message ? { message } : {}),
        raw,
        ...(sig ? { sig } : {}),
        concurrent: isPoll ? [...(open.get(sig.session) ?? [])] : [],
        signatureInUrl: [...sigs.keys()].some((issued) => safeDecode(req.url ?? '').includes(issued)),
        get outstanding() {
          return this.concurrent.filter((other) => !other.abandoned).length;
        },
        exchange: { request: { method: req.method ?? 'GET', url: req.url ?? '/', headers, ...(raw ? { body: raw } : {}) } },
      };
      requests.push(recorded);
      if (isPoll) {
        if (!open.has(sig.session)) open.set(sig.session, new Set());
        open.get(sig.session)!.add(recorded);
      }
      res.once('close', () => {
        open.get(sig?.session ?? -1)?.delete(recorded);
        if (recorded.answeredAt === undefined && recorded.exchange.error === undefined) recorded.abandoned = true;
      });
      const state: ScriptState = { requests, plain: () => plain(recorded), sign, sessions, count: options.count, ms };
      const send = (reply: Reply) => {
        if ('drop' in reply) {
          recorded.exchange.error = 'dropped by the scenario (connection closed without an answer)';
          req.socket.destroy();
          return;
        }
        const text = JSON.stringify(reply.body);
        const responseHeaders = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...(reply.headers ?? {}) };
        recorded.answeredAt = ms();
        recorded.exchange.response = { status: reply.status, headers: responseHeaders, body: text, ms: recorded.answeredAt - recorded.at };
        res.writeHead(reply.status, responseHeaders);
        res.end(text);
      };
      void Promise.resolve(options.answer?.(recorded, state) ?? plain(recorded)).then((reply) => {
        if (reply.delayMs) setTimeout(() => send(reply), reply.delayMs);
        else send(reply);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/ssp`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
