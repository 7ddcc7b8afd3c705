// A deliberately broken SSP/1 server: the reference server (conformance mode) behind a
// proxy whose variant rewrites requests or responses to violate one requirement. The
// proxy itself is transparent: it stops reading a body after maxBodyBytes + 1 bytes like
// the server does (unless a variant says otherwise) and copies everything else verbatim.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createServer, handleClientErrors, type Limits, type SspServer, type SspServerOptions } from '../../../reference-server/index.ts';

export interface ProxyRequest {
  method: string;
  /** The request target as received (path and query); the server is always sent its endpoint path. */
  target: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The body parsed as JSON when it is a JSON object. */
  message?: Record<string, unknown> | undefined;
}

export interface ProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body parsed as JSON when it is a JSON object; a variant edits this and the body follows. */
  message?: Record<string, unknown> | undefined;
}

export interface ProxyTools {
  limits: Readonly<Limits>;
  /** Send a request to the reference server directly (not through the variant). */
  forward(request: ProxyRequest): Promise<ProxyResponse>;
  /** The session a signature belongs to (as seen on the wire), or undefined. */
  sessionOf(sig: string): number | undefined;
  /** The `open` message that created the session of a signature, or undefined. */
  openOf(sig: string): Record<string, unknown> | undefined;
  /** Every signature the server has issued so far. */
  issued: ReadonlySet<string>;
}

export interface VariantHooks {
  /** Rewrite a request before it is forwarded, or answer it without forwarding. */
  request?(request: ProxyRequest): ProxyRequest | ProxyResponse | Promise<ProxyRequest | ProxyResponse>;
  /** Rewrite the server's response. */
  response?(response: ProxyResponse, request: ProxyRequest): ProxyResponse | Promise<ProxyResponse>;
}

export interface Variant {
  name: string;
  /** The MUST this variant violates, and how. */
  violates: string;
  /** Requirement IDs the runner must report as failing: exactly these, nothing else. */
  breaks: string[];
  /** Why `breaks` has more than the one violated requirement (each extra is a direct consequence). */
  consequences?: string;
  /**
   * Sections whose checks the proof also runs (beyond those of `breaks`): their responses
   * are what the audit checks (every response is evidence) must catch the fault in.
   */
  alsoRun?: string[];
  /** Read the whole request body before answering (default: stop at maxBodyBytes + 1, as the server does). */
  bufferWholeBody?: boolean;
  /**
   * Answer what the proxy's HTTP parser rejects (malformed framing) as Node does by default,
   * plain text without the JSON error (default: as the reference server does, SSP-ERROR-11).
   */
  plainFramingErrors?: boolean;
  /** Options of the reference server behind the proxy (e.g. an authorize hook). */
  server?: BrokenServerOptions['server'];
  /** Request headers the proof passes to the runner (its -H), e.g. the credentials `server` requires. */
  headers?: Record<string, string>;
  /** Fresh hooks (and state) for one proxy instance. */
  create(tools: ProxyTools): VariantHooks;
}

export interface BrokenServer {
  url: string;
  close(): Promise<void>;
  /**
   * Graceful: the reference server shuts down first (its held polls are answered through the
   * proxy), then the proxy; with `keepListeningMs`, the proxy goes on accepting requests that
   * long after the server has closed (a variant then answers them itself).
   */
  shutdown(keepListeningMs?: number): Promise<void>;
}

export interface BrokenServerOptions {
  /** Proxy port (default: a free one). */
  port?: number;
  /** Options of the reference server behind the proxy (conformance mode always). */
  server?: Omit<SspServerOptions, 'port' | 'host' | 'conformance'>;
}

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'expect', 'upgrade']);

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A request carrying `message` as its JSON body. */
export function withMessage(req: ProxyRequest, message: Record<string, unknown>): ProxyRequest {
  return { ...req, body: Buffer.from(JSON.stringify(message)), message };
}

/** An answer made up by the proxy, shaped like the server's (no-store, JSON, CORS headers of `like`). */
export function jsonResponse(status: number, message: Record<string, unknown>, like?: ProxyResponse): ProxyResponse {
  const headers = { ...(like?.headers ?? {}), 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  return { status, headers, body: Buffer.from(JSON.stringify(message)), message };
}

/** Read a request body, stopping once more than `limit` bytes arrived (Infinity: all of it). */
function readBody(req: http.IncomingMessage, limit: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks), complete: false });
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve({ body: Buffer.concat(chunks), complete: true }));
    req.once('error', reject);
  });
}

export async function startBroken(variant: Variant, options: BrokenServerOptions = {}): Promise<BrokenServer> {
  const inner: SspServer = await createServer({ ...variant.server, ...options.server, port: 0, host: '127.0.0.1', conformance: true });
  const innerUrl = new URL(inner.url);
  const sessions = new Map<string, number>();
  const issued = new Set<string>();
  const opens = new Map<number, Record<string, unknown>>();
  let nextSession = 1;

  async function forward(req: ProxyRequest): Promise<ProxyResponse> {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !hopByHop.has(name)));
    const sendsBody = req.body.length > 0 || req.method === 'POST';
    // HEAD goes to the server as GET, so that a variant rewriting the discovery document sees it
    // and the HEAD answer announces the rewritten length, as a server serving it would (SSP-TRANSPORT-15).
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const answer = await request(innerUrl, { method: method as 'POST', headers, ...(sendsBody ? { body: req.body } : {}) });
    const body = Buffer.from(await answer.body.arrayBuffer());
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !hopByHop.has(name)) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const response: ProxyResponse = { status: answer.statusCode, headers: responseHeaders, body, message: parseObject(body) };
    track(req, response);
    return response;
  }

  /** Which session each signature belongs to: a session's sig starts one, answers inherit the request's. */
  function track(req: ProxyRequest, response: ProxyResponse): void {
    const sig = response.message?.sig;
    if (typeof sig !== 'string') return;
    issued.add(sig);
    const from = typeof req.message?.sig === 'string' ? sessions.get(req.message.sig) : undefined;
    if (response.message?.type === 'session') {
      opens.set(nextSession, req.message ?? {});
      sessions.set(sig, nextSession++);
    }
    else if (from !== undefined && !sessions.has(sig)) sessions.set(sig, from);
  }

  const hooks = variant.create({
    limits: inner.handler.limits,
    forward,
    sessionOf: (sig) => sessions.get(sig),
    openOf: (sig) => opens.get(sessions.get(sig) ?? 0),
    issued,
  });

  const proxy = http.createServer((req, res) => {
    void (async () => {
      const limit = variant.bufferWholeBody ? Infinity : inner.handler.limits.maxBodyBytes;
      const { body, complete } = await readBody(req, limit);
      const headers: Record<string, string> = {};
      // Every field line, joined (req.headers would keep only the first Content-Type).
      for (const [name, values] of Object.entries(req.headersDistinct)) if (values !== undefined) headers[name] = values.join(', ');
      let proxied: ProxyRequest = { method: req.method ?? 'GET', target: req.url ?? '/', headers, body, message: parseObject(body) };
      const rewritten = hooks.request ? await hooks.request(proxied) : proxied;
      let response: ProxyResponse;
      if ('status' in rewritten) response = rewritten;
      else {
        proxied = rewritten;
        response = await forward(proxied);
      }
      if (hooks.response) response = await hooks.response(response, proxied);
      const out = response.message && parseObject(response.body) !== undefined ? Buffer.from(JSON.stringify(response.message)) : response.body;
      // For HEAD, Node sends no body but the length of the GET's (SSP-TRANSPORT-15).
      res.writeHead(response.status, { ...response.headers, 'content-length': String(out.length), ...(complete ? {} : { connection: 'close' }) });
      res.end(out);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`broken-variant proxy failed: ${String(error)}`);
    });
  });
  // Malformed requests never reach the variant: the proxy's own parser rejects them.
  if (!variant.plainFramingErrors) handleClientErrors(proxy);
  await new Promise<void>((resolve) => proxy.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${innerUrl.pathname}`,
    async close() {
      await new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      await inner.close();
    },
    async shutdown(keepListeningMs = 0) {
      // The reference server answers its held polls; the proxy still relays those answers.
      if (keepListeningMs === 0) proxy.close();
      await inner.close();
      if (keepListeningMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, keepListeningMs));
        proxy.close();
      }
      proxy.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, 300));
      proxy.closeAllConnections();
    },
  };
}
