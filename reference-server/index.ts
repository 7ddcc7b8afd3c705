// Library API of the reference SSP/1 server: a node:http request listener (mounts in
// http.createServer, Express-style middleware, anything with Node req/res) and a helper that
// listens. See README "Reference server".
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createValidator } from '../schemas/index.ts';
import { bearerToken } from './authorize.ts';
import type { Authorize, AuthorizeOutcome } from './authorize.ts';
import type { DiscoveryDocument } from '../schemas/types.gen.ts';
import { clientKeyFromForwardedFor, clientKeyFromProxies, clientKeyFromSocket, isLoopback } from './client-key.ts';
import type { ClientKey } from './client-key.ts';
import { CLIENT_MODULE_PATH, createClientModuleRoute } from './client-module.ts';
import { DEMO_TOPIC, createDemo, publishHint } from './demo/serve.ts';
import { createMemoryEventLog } from './event-log/memory.ts';
import type { EventLog } from './event-log/types.ts';
import { createEndpoint } from './holder/endpoint.ts';
import { framingServerOptions, handleClientErrors } from './holder/framing.ts';
import { writeHead } from './holder/http.ts';
import type { SspRequest, SspResponse } from './holder/http.ts';
import { SessionHolder } from './holder/sessions.ts';
import { sessionWaitMs } from './holder/session-wait.ts';
import { TimerWheel } from './holder/timer-wheel.ts';
import { checkLimits, conformanceLimits, defaultLimits } from './limits.ts';
import type { Limits } from './limits.ts';
import { createListener } from './listener.ts';
import { MuxHolder } from './multiplex/holder.ts';
import type { TlsOptions } from './listener.ts';
import { trackSigningKeys } from './durable/signing-keys.ts';
import { Signer } from './signature.ts';
import type { Secrets } from './signature.ts';
import { annexStreams } from './streams/annex.ts';
import { demoTicker } from './streams/demo-ticker.ts';
import { execStream } from './streams/exec.ts';
import type { ExecStream } from './streams/exec.ts';
import { StreamRegistry } from './streams/registry.ts';
import { TopicHub } from './streams/topics.ts';
import type { StreamDefinition } from './streams/types.ts';

export type {
  Channel,
  ChannelOptions,
  ChannelReaders,
  ChannelWatcher,
  EventLog,
  MaybePromise,
  ReadLimits,
  ReadResult,
  StoredEvent,
  StreamEnd,
} from './event-log/types.ts';
export { SerializedData, eventWireBytes, sessionChannel, topicChannel } from './event-log/types.ts';
export { MemoryEventLog } from './event-log/memory.ts';
export type { SessionRecord, SessionStore, SigningKeyRecord, StreamRecord } from './event-log/session-store.ts';
export { FileEventLog } from './durable/file-log.ts';
export type { FileLogOptions } from './durable/file-log.ts';
export { openEventLog } from './durable/open-log.ts';
export type { OpenLogOptions } from './durable/open-log.ts';
export { openPublisher, publish } from './durable/publish.ts';
export type { Publisher, PublisherOptions } from './durable/publish.ts';
export { StreamError } from './streams/types.ts';
export type { Producer, ProducerContext, StreamDefinition } from './streams/types.ts';
export { framingServerOptions, handleClientErrors } from './holder/framing.ts';
export type { FramingOptions } from './holder/framing.ts';
export { bearerToken };
export type { Authorize, AuthorizeOutcome };
export { annexStreams, clientKeyFromForwardedFor, clientKeyFromProxies, clientKeyFromSocket, isLoopback, conformanceLimits, defaultLimits, demoTicker };
export type { ClientKey, Limits, Secrets, SspRequest, SspResponse, TlsOptions };

export interface SspServerOptions {
  /** Path of the SSP endpoint. Default '/ssp'. */
  path?: string | undefined;
  /** Overrides of the advertised limits (defaults: spec §5, or the short conformance ones). */
  limits?: Partial<Limits> | undefined;
  /**
   * HMAC secret. Without one a random secret is used: signatures die with the process. To
   * rotate, give a list, newest first: new signatures use the first, any verifies (until the
   * unexpired signatures of a retired secret are gone: idleTimeoutMs + maxHoldMs).
   */
  secret?: Secrets | undefined;
  /** Your streams, by name. */
  streams?: Record<string, StreamDefinition> | undefined;
  /** Topic streams fed by `handler.publish(topic, data)`. */
  topics?: string[] | undefined;
  /** Offer the annex streams (ssp.counter, ssp.ticker, ssp.burst, ssp.fail) and short limits. */
  conformance?: boolean | undefined;
  /**
   * Where the handler serves the reference browser client as one ES module, for pages without
   * a bundler (`import { pushlet } from '/xanjax-client.js'`). Default '/xanjax-client.js';
   * false serves none.
   */
  clientModule?: string | false | undefined;
  /** Serve the demo page at '/' (it imports the client module). */
  demo?: boolean | undefined;
  /** Offer stream `exec`: this shell command runs once per session, one event per stdout line. */
  exec?: string | undefined;
  /** Most exec processes at once. Default 16. */
  maxExec?: number | undefined;
  /** Most live sessions. Default 10 000. */
  maxSessions?: number | undefined;
  /** Most live sessions per client (see clientKey). Default 100. */
  maxSessionsPerClient?: number | undefined;
  /**
   * Names a request's client for maxSessionsPerClient. Default: the socket's peer address.
   * Behind a proxy on the same machine, use clientKeyFromForwardedFor (the address the proxy
   * appended to X-Forwarded-For, trusted only from a loopback peer); for proxies elsewhere,
   * clientKeyFromProxies(isProxy). Either way the proxy must append, not pass the header on.
   */
  clientKey?: ClientKey | undefined;
  /** retryAfterMs for too-many-sessions and unavailable. Default 2000. */
  retryAfterMs?: number | undefined;
  /** A request body must arrive within this long after its headers. Default 10 000. */
  bodyTimeoutMs?: number | undefined;
  /**
   * Where producers and the holder meet: each session's own channel and each topic's shared
   * channel. Default: a new in-memory log. The handler closes it at shutdown.
   */
  eventLog?: EventLog | undefined;
  /**
   * Offer the `multiplex` extension (spec §23): many streams in one session and one held
   * poll. Default true (not offered with `authorize`, which it does not apply to streams added
   * later yet); `{ maxStreams }` sets the live streams per session (default 32). With a durable
   * log (file, Redis) a session's record lives in the log, so restarts and other instances
   * continue multiplexed sessions as they do plain ones.
   */
  multiplex?: boolean | { maxStreams?: number } | undefined;
  /**
   * True when remembered terminations survive a restart by other means than the event log (a
   * durable log with a session store, such as file: and redis:, is recognised by itself).
   * Otherwise, when `secret` is given (signatures survive a restart), the server answers
   * `unavailable` to signatures of sessions it does not know for idleTimeoutMs + maxHoldMs
   * after it starts, so that a session closed before the restart is never re-created
   * (SSP-SIGNATURE-14); resumable sessions then reopen. Default false.
   */
  keepsTerminations?: boolean | undefined;
  /**
   * Access control (spec §4.5): called with the request, the stream and its checked params
   * for every open, and with the session's stream and params for every poll and close.
   * Return 'allow', 'unauthorized' (401 with WWW-Authenticate; the session is unchanged) or
   * 'forbidden' (403 at open; on a poll or close the session ends with the `revoked`
   * termination). `bearerToken(token)` builds one that wants `Authorization: Bearer token`.
   */
  authorize?: Authorize | undefined;
  /**
   * The origins whose pages may use the endpoint (spec §4.4, SSP-CORS-1): exact origins
   * (`https://app.example.com`) or a predicate. Requests from any other origin get no CORS
   * headers, and their POSTs get 403 `forbidden` before the message is read (SSP-AUTH-8).
   * Set it whenever `authorize` accepts cookies: otherwise any site's page can open and read
   * sessions with a signed-in user's cookies. Default: every origin.
   */
  allowedOrigins?: readonly string[] | ((origin: string) => boolean) | undefined;
}

export interface SspStats {
  /** Live sessions, multiplexed ones included (each counts once, whatever its streams). */
  sessions: number;
  heldPolls: number;
  tombstones: number;
  /** Clients with at least one live session. */
  clients: number;
  execProcesses: number;
}

export interface SspHandler {
  /** Works on node:http and on node:http2's compatibility API (HTTP/2 and its HTTP/1.1 fallback). */
  (req: SspRequest, res: SspResponse, next?: (error?: unknown) => void): void;
  readonly path: string;
  readonly limits: Readonly<Limits>;
  /** Sends data to every session open on the topic; returns how many sessions got it. */
  publish(topic: string, data: unknown): number;
  /** Live sessions, held polls, remembered terminations, clients, exec processes. */
  stats(): SspStats;
  /** Graceful shutdown: held polls get termination `shutdown` (advice resume), producers stop. */
  close(): Promise<void>;
}

export function createSspHandler(options: SspServerOptions = {}): SspHandler {
  const path = options.path ?? '/ssp';
  const limits = checkLimits({ ...(options.conformance ? conformanceLimits : defaultLimits), ...options.limits });
  const registry = new StreamRegistry();
  for (const [name, definition] of Object.entries(options.streams ?? {})) registry.register(name, definition);
  // The demo page opens the 'ticker' feed; offer it unless the host application defined its own.
  if (options.demo && !options.streams?.ticker) registry.register('ticker', demoTicker);
  const log: EventLog = options.eventLog ?? createMemoryEventLog();
  const topics = new TopicHub(log, limits.retainEvents);
  for (const topic of options.topics ?? []) registry.register(topic, topics.define(topic));
  if (options.conformance) for (const [name, definition] of Object.entries(annexStreams)) registry.register(name, definition);
  let exec: ExecStream | undefined;
  if (options.exec !== undefined) registry.register('exec', (exec = execStream(options.exec, options.maxExec ?? 16)));

  // Multiplexed opens go to the MuxHolder, so the plain holder accepts no extension (it answers
  // `extensions: []`, SSP-EXT-2). Not offered with an authorize hook (see the option). With a
  // durable log a multiplexed session's record lives in the log's session store, so a restart
  // or another instance continues it as it does a plain session.
  const maxStreams = options.authorize ? 0 : multiplexStreams(options.multiplex);
  const offeredExtensions: readonly string[] = [];
  const discovery: DiscoveryDocument = {
    ssp: 1,
    type: 'discovery',
    versions: [1],
    limits,
    streams: registry.list(),
    extensions: maxStreams > 0 ? ['multiplex'] : [],
    conformance: options.conformance ?? false,
    ...(maxStreams > 0 && { ext: { multiplex: { maxStreams } } }),
  };
  const wheel = new TimerWheel();
  const signer = new Signer(options.secret ?? Signer.randomSecret());
  // A durable log records the signing-key ids, so rotation advice survives restarts.
  const keys = log.sessions && trackSigningKeys(log.sessions, signer, limits.idleTimeoutMs + limits.maxHoldMs, (line) => console.error(line));
  const shared = {
    limits,
    registry,
    signer,
    log,
    wheel,
    maxSessions: options.maxSessions ?? 10_000,
    maxSessionsPerClient: options.maxSessionsPerClient ?? 100,
    retryAfterMs: options.retryAfterMs ?? 2000,
    shutdownResumeDelayMs: 1000,
  };
  const restartGuard = options.secret !== undefined && !options.keepsTerminations && log.sessions === undefined;
  const clientKey = options.clientKey ?? clientKeyFromSocket;
  const holder = new SessionHolder({ ...shared, restartGuard, extensions: offeredExtensions, clientKey });
  const mux = maxStreams > 0 ? new MuxHolder({ ...shared, maxStreams, restartGuard }) : undefined;
  const endpoint = createEndpoint({
    holder,
    ...(mux && { mux }),
    validator: createValidator(),
    discoveryBody: JSON.stringify(discovery),
    maxBodyBytes: limits.maxBodyBytes,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000,
    wheel,
    clientKey,
    authorize: options.authorize,
    sessionWaitMs: sessionWaitMs(limits),
    allowOrigin: originPolicy(options.allowedOrigins),
  });
  const demo = options.demo ? createDemo(path, topics.has(DEMO_TOPIC) ? publishHint(log.location) : undefined) : undefined;
  const clientModule = options.clientModule === false ? undefined : createClientModuleRoute(options.clientModule ?? CLIENT_MODULE_PATH);

  const handler = ((req, res, next) => {
    // Express-style mounts rewrite req.url; originalUrl keeps the full path.
    const url = (req as SspRequest & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const pathname = pathnameOf(url);
    if (pathname === path) {
      endpoint(req, res);
      return;
    }
    // The static routes use only what node:http and node:http2's compatibility API share.
    const [plainReq, plainRes] = [req as IncomingMessage, res as ServerResponse];
    if (clientModule?.(plainReq, plainRes, pathname) || demo?.(plainReq, plainRes, pathname)) return;
    if (next) return next();
    writeHead(res, 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`not found; the SSP/1 endpoint is ${path}\n`);
  }) as SspHandler;
  Object.defineProperties(handler, {
    path: { value: path },
    limits: { value: Object.freeze({ ...limits }) },
  });
  handler.publish = (topic, data) => topics.publish(topic, data);
  handler.stats = () => {
    const single = holder.stats();
    const multi = mux?.stats();
    return {
      ...single,
      sessions: single.sessions + (multi?.sessions ?? 0),
      heldPolls: single.heldPolls + (multi?.heldPolls ?? 0),
      tombstones: single.tombstones + (multi?.tombstones ?? 0),
      execProcesses: exec?.running ?? 0,
    };
  };
  handler.close = async () => {
    mux?.shutdown();
    await Promise.all([holder.shutdown(), keys?.stop()]);
  };
  return handler;
}

/** Live streams per multiplexed session; 0 when the extension is off. */
function multiplexStreams(option: SspServerOptions['multiplex']): number {
  if (option === false) return 0;
  const maxStreams = (typeof option === 'object' ? option.maxStreams : undefined) ?? 32;
  // Each stream adds at most ~37 bytes (16-character id, 16-digit position) to the signature.
  if (!Number.isInteger(maxStreams) || maxStreams < 2 || maxStreams > 32) throw new RangeError(`multiplex.maxStreams must be an integer from 2 to 32, got ${maxStreams}`);
  return maxStreams;
}

/** `allowedOrigins` as a predicate; undefined allows every origin. */
function originPolicy(option: SspServerOptions['allowedOrigins']): ((origin: string) => boolean) | undefined {
  if (option === undefined || typeof option === 'function') return option;
  const allowed = new Set(option);
  return (origin) => allowed.has(origin);
}

/** The path of an origin-form or absolute-form target (RFC 9112 §3.2.2: servers accept both). */
function pathnameOf(target: string): string {
  if (!target.startsWith('/')) {
    try {
      return new URL(target).pathname;
    } catch {
      return target;
    }
  }
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

export interface ListenOptions extends SspServerOptions {
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /** Default 8080; 0 picks a free port. */
  port?: number | undefined;
  /** The request line and headers must arrive within this long. Default 10 000. */
  headersTimeoutMs?: number | undefined;
  /**
   * The event log, when `eventLog` is not given: 'memory' (default), 'file:DIR' (survives
   * restarts and crashes) or 'redis://HOST:PORT[/DB]' (shared by instances). README "Scaling out".
   */
  log?: string | undefined;
  /** File log: fsync period in ms; 0 = after every append. Default 1000. */
  fsyncIntervalMs?: number | undefined;
  /**
   * Serve HTTPS: HTTP/2 and HTTP/1.1 on one port, chosen by ALPN (node:http2 with allowHTTP1).
   * Browsers then carry every held poll of a page over one connection (spec §18.2).
   */
  tls?: TlsOptions | undefined;
}

export interface SspServer {
  /** The endpoint URL, e.g. http://127.0.0.1:8080/ssp (https: with `tls`). */
  url: string;
  server: http.Server | http2.Http2SecureServer;
  handler: SspHandler;
  publish(topic: string, data: unknown): number;
  /** Graceful: answers held polls (shutdown), stops producers, closes the server. */
  close(): Promise<void>;
}

/** Time left to connections to finish after a graceful close before they are cut. */
const CLOSE_GRACE_MS = 3000;

export async function createServer(options: ListenOptions = {}): Promise<SspServer> {
  if (options.eventLog === undefined && options.log !== undefined) {
    const { openEventLog } = await import('./durable/open-log.ts');
    const eventLog = await openEventLog(options.log, {
      ...(options.fsyncIntervalMs !== undefined && { fsyncIntervalMs: options.fsyncIntervalMs }),
      ...(options.retryAfterMs !== undefined && { retryAfterMs: options.retryAfterMs }),
    });
    try {
      return await createServer({ ...options, eventLog });
    } catch (error) {
      await eventLog.close();
      throw error;
    }
  }
  const handler = createSspHandler(options);
  // Slow or idle clients cannot hold a connection: headers and body have real deadlines
  // (a held poll is not affected: it has been received), and what Node's parser rejects
  // gets the spec's JSON error (HTTP/1.1; node:http2 frames requests itself).
  const framing = framingServerOptions({ headersTimeoutMs: options.headersTimeoutMs ?? 10_000, bodyTimeoutMs: options.bodyTimeoutMs ?? 10_000 });
  const listener = createListener(handler, options.tls, framing);
  const { server } = listener;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${listener.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${handler.path}`;
  let closing: Promise<void> | undefined;
  const close = async () => {
    await handler.close();
    await listener.close(CLOSE_GRACE_MS);
  };
  return {
    url,
    server,
    handler,
    publish: handler.publish,
    close: () => (closing ??= close()),
  };
}
