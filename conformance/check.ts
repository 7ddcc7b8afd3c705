// The check model (graphql-http audits + MCP conformance results): one flat list of
// declared checks per spec section; a check fails only by throwing CheckFailure, which
// carries the evidence; any other throw is a harness error, never the server's fault.
import type { DiscoveryDocument } from '../schemas/types.gen.ts';

export type Level = 'MUST' | 'SHOULD' | 'MAY';

/** One HTTP exchange, recorded for reports (request and response as sent/received). */
export interface Exchange {
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response?: { status: number; headers: Record<string, string>; body: string; json?: unknown; ms: number };
  error?: string;
}

/** Thrown by a check to report that the server violated the requirement. */
export class CheckFailure extends Error {
  readonly code = 'CHECK_FAILED';
  constructor(message: string, readonly evidence: Exchange[] = []) {
    super(message);
    this.name = 'CheckFailure';
  }
}

/** Thrown when a check needs something the server does not offer (e.g. the annex streams). */
export class NotTestable extends Error {
  readonly code = 'NOT_TESTABLE';
  constructor(message: string) {
    super(message);
    this.name = 'NotTestable';
  }
}

/**
 * Thrown when a requirement cannot be observed for a reason that is not the server's
 * fault: it presupposes something the server may legally decline (an allowed origin,
 * SSP-CORS-1), or observing it in full would take longer than a run may. Reported as a
 * note with this reason: visible, never a failure, never a silent skip.
 */
export class CheckNote extends Error {
  readonly code = 'CHECK_NOTE';
  constructor(message: string) {
    super(message);
    this.name = 'CheckNote';
  }
}

/**
 * `annex`: the conformance annex streams; `server-command`: the runner starts and restarts the
 * server (--server-command); `credentials`: the user passed the server's credentials with -H.
 */
export type Features = 'annex' | 'server-command' | 'credentials';

export interface Check {
  /** A requirement ID from spec/requirements.json, or `<id>/<variant>`. */
  id: string;
  /** Starts with the keyword: 'MUST answer a poll with …'. Severity comes from it. */
  title: string;
  level: Level;
  /** Spec section name, e.g. 'HOLD' (derived from the ID). */
  section: string;
  /** Link into the spec: 'spec/ssp-1.md#SSP-HOLD-3'. */
  specRef: string;
  /** Features the check needs; missing ones make it 'not testable' (a failure for MUST). */
  needs: Features[];
  /** Checks that observe timing or server-wide state run alone, not concurrently. */
  exclusive: boolean;
  /** Audit checks judge every response of the run (audit.ts): they run after all others. */
  last: boolean;
  run(ctx: CheckContext): Promise<void>;
}

export interface CheckOptions {
  needs?: Features[];
  exclusive?: boolean;
  last?: boolean;
}

/** Declare a check; level is read from the title's first word. */
export function check(id: string, title: string, run: (ctx: CheckContext) => Promise<void>, options: CheckOptions = {}): Check {
  const level = title.split(' ', 1)[0];
  if (level !== 'MUST' && level !== 'SHOULD' && level !== 'MAY') {
    throw new Error(`check ${id}: title must start with MUST, SHOULD or MAY: '${title}'`);
  }
  const requirement = id.split('/', 1)[0];
  const section = requirement.split('-')[1];
  if (!/^SSP-[A-Z]+-\d+$/.test(requirement) || !section) throw new Error(`check ${id}: not a requirement ID`);
  return {
    id,
    title,
    level,
    section,
    specRef: `spec/ssp-1.md#${requirement}`,
    needs: options.needs ?? [],
    exclusive: options.exclusive ?? false,
    last: options.last ?? false,
    run,
  };
}

/** Result of one check, as every reporter sees it. */
export interface CheckResult {
  id: string;
  title: string;
  level: Level;
  section: string;
  specRef: string;
  status: 'pass' | 'fail' | 'warning' | 'note' | 'harness-error' | 'expected-failure' | 'unexpected-pass';
  reason?: string;
  evidence: Exchange[];
  ms: number;
}

/** A parsed server answer to a POST, with the exchange kept as evidence. */
export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON body (validated against the schema of its `type`; a schema failure is a CheckFailure). */
  body: T;
  exchange: Exchange;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Abort after this many ms (already scaled by --timeout-scale). */
  timeoutMs?: number;
  /** Send none of the user's -H headers (the credential checks, SSP-AUTH). */
  withoutUserHeaders?: boolean;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  exchange: Exchange;
  ms: number;
}

/**
 * What a check gets. Every request is recorded into `evidence` (so a CheckFailure thrown
 * with `ctx.fail(msg)` carries the whole transcript), extra `-H` headers are added to
 * every request, and every JSON body the server sends is validated against the schema
 * of its `type` (the synthetic wire check: a schema violation fails the running check).
 */
export interface CheckContext {
  endpoint: URL;
  /** The user's extra headers (-H), lower-cased; every request the context sends carries them. */
  headers: Readonly<Record<string, string>>;
  /** The Origin the CORS checks send (--origin). */
  origin: string;
  /** Extra trusted PEM certificates (--ca), for probes written on a raw TLS socket. */
  ca?: string | Buffer | undefined;
  /** Discovery document, fetched once per run (validated). */
  discovery: DiscoveryDocument;
  /** Multiplies every wait and timeout derived from the server's limits. */
  timeoutScale: number;
  /** Exchanges of this check so far. */
  evidence: Exchange[];
  /** Any HTTP request to the endpoint (or to `url` when given). Never throws on HTTP status. */
  raw(init?: RawRequest, url?: URL): Promise<RawAnswer>;
  /** POST a JSON message with Content-Type application/json; body must be a server message. */
  send<T = unknown>(message: unknown, init?: Omit<RawRequest, 'body'>): Promise<Answer<T>>;
  /** `open` the stream and require a `session` answer (fails the check otherwise). */
  open(stream: string, params?: Record<string, unknown>): Promise<Answer<import('../schemas/types.gen.ts').SessionMessage>>;
  /** `poll` with a signature; `hold` in ms (omitted: server maximum). Returns whatever the server answered. */
  poll(sig: string, hold?: number, init?: Omit<RawRequest, 'body'>): Promise<Answer<import('../schemas/types.gen.ts').ServerMessage>>;
  /** `close` with a signature. */
  close(sig: string): Promise<Answer<import('../schemas/types.gen.ts').ServerMessage>>;
  /** Throw a CheckFailure carrying this check's evidence. */
  fail(message: string): never;
  /** Fail unless `condition`. */
  assert(condition: unknown, message: string): asserts condition;
  /** Wait `ms` × timeoutScale. */
  sleep(ms: number): Promise<void>;
  /** Tolerance for timing checks, in ms (already scaled): answers may be this late. */
  tolerance: number;
  /**
   * How early a timed answer may come: timer slack only (not scaled). The runner starts its
   * clock before the request leaves, so a server that holds long enough is never measured short.
   */
  earlySlack: number;
  /**
   * How late an answer due "at once" or within a delay may come on this server and this
   * machine now: a margin over the best of several measured round trips (discovery GETs,
   * which involve no holding), scaled. Measured afresh on each call.
   */
  lateSlack(): Promise<{ ms: number; roundTripMs: number; how: string }>;
  /** Every response of the run judged against the rules for all responses (audit.ts). */
  audit: import('./audit.ts').AuditView;
  /** The server process, when the runner started it (--server-command); checks needing it declare `server-command`. */
  server?: import('./server-process.ts').ServerControl;
}
