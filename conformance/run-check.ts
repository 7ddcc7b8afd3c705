// Runs one check in its own context and turns what happened into a CheckResult.
import type { Dispatcher } from 'undici';
import type { DiscoveryDocument } from '../schemas/types.gen.ts';
import type { Check, CheckContext, CheckResult, Exchange, Features } from './check.ts';
import { CheckFailure, CheckNote, NotTestable } from './check.ts';
import { statusOf, staleBaselineReason, type Outcome } from './classify.ts';
import { isExpected } from './baseline.ts';
import { createContext, defaultOrigin } from './context.ts';
import { missingFeatures } from './features.ts';
import { checkTimeoutMs } from './timing.ts';
import { ResponseAudit } from './audit.ts';
import { graceMs, startTimeoutMs, type ServerControl } from './server-process.ts';

/** A restart check may wait for a stop and a start on top of its own bound. */
const restartAllowanceMs = 2 * (graceMs + startTimeoutMs);

export interface CheckEnvironment {
  endpoint: URL;
  discovery: DiscoveryDocument;
  headers: Record<string, string>;
  /** The Origin the CORS checks send. */
  origin: string;
  timeoutScale: number;
  strict: boolean;
  dispatcher: Dispatcher;
  /** Extra trusted PEM certificates (--ca). */
  ca?: string | Buffer;
  /** Why each feature the server lacks is missing (features.ts). */
  missing: Map<Features, string>;
  /** Longest a check may run (timing.ts checkTimeoutMs unless overridden). */
  checkTimeoutMs: number;
  isExpectedFailure(id: string): boolean;
  /** Every response of the run, judged for the rules that hold for all (audit.ts). */
  audit: ResponseAudit;
  /** The server process when the runner started it (--server-command). */
  server?: ServerControl;
}

export interface EnvironmentOptions {
  endpoint: URL;
  discovery: DiscoveryDocument;
  headers?: Record<string, string> | undefined;
  origin?: string | undefined;
  timeoutScale: number;
  strict?: boolean | undefined;
  dispatcher: Dispatcher;
  ca?: string | Buffer | undefined;
  checkTimeoutMs?: number | undefined;
  baseline: readonly string[];
  /** Shared by every check of the run (a fresh one when absent). */
  audit?: ResponseAudit;
  server?: ServerControl;
}

/** What every check of one run shares: the runner and the test-case adapter build it alike. */
export function checkEnvironment(options: EnvironmentOptions): CheckEnvironment {
  const { discovery, timeoutScale, baseline } = options;
  return {
    endpoint: options.endpoint,
    discovery,
    headers: options.headers ?? {},
    origin: options.origin ?? defaultOrigin,
    timeoutScale,
    strict: options.strict ?? false,
    dispatcher: options.dispatcher,
    ...(options.ca !== undefined && { ca: options.ca }),
    missing: missingFeatures(discovery, options.server !== undefined, Object.keys(options.headers ?? {}).length > 0),
    checkTimeoutMs: options.checkTimeoutMs ?? checkTimeoutMs(discovery.limits, timeoutScale),
    isExpectedFailure: (id) => isExpected(baseline, id),
    audit: options.audit ?? new ResponseAudit(),
    ...(options.server ? { server: options.server } : {}),
  };
}

// Matched by code too: a check module may load its own copy of check.ts (another path,
// another bundler), and its errors must still count as the server's failure.
function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function harnessReason(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 3);
  return [`${error.name}: ${error.message}`, ...frames.map((frame) => frame.trim())].join('\n');
}

type Settled = { outcome: Outcome; evidence?: Exchange[] };

function outcomeOf(error: unknown): Settled {
  if (error instanceof CheckFailure || hasCode(error, 'CHECK_FAILED')) {
    const failure = error as CheckFailure;
    return { outcome: { kind: 'failure', reason: failure.message }, evidence: failure.evidence };
  }
  if (error instanceof CheckNote || hasCode(error, 'CHECK_NOTE')) {
    return { outcome: { kind: 'note', reason: (error as Error).message } };
  }
  if (error instanceof NotTestable || hasCode(error, 'NOT_TESTABLE')) {
    return { outcome: { kind: 'failure', reason: `not testable: ${(error as Error).message}` } };
  }
  return { outcome: { kind: 'harness-error', reason: harnessReason(error) } };
}

/** Runs the check, or gives up on it after `limitMs` (a harness error). */
async function runBounded(check: Check, context: CheckContext, limitMs: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Settled>((resolve) => {
    const reason = `check did not finish within ${limitMs} ms; every request is bounded on its own, so the check itself hung`;
    timer = setTimeout(() => resolve({ outcome: { kind: 'harness-error', reason } }), limitMs);
  });
  const finished = Promise.resolve()
    .then(() => check.run(context))
    .then((): Settled => ({ outcome: { kind: 'pass' } }), outcomeOf);
  try {
    return await Promise.race([finished, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runCheck(check: Check, env: CheckEnvironment): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  const context = createContext({
    endpoint: env.endpoint,
    discovery: env.discovery,
    headers: env.headers,
    origin: env.origin,
    timeoutScale: env.timeoutScale,
    dispatcher: env.dispatcher,
    ...(env.ca !== undefined && { ca: env.ca }),
    signal: controller.signal,
    audit: env.audit,
    checkId: check.id,
    ...(env.server ? { server: env.server } : {}),
  });
  const missingFeature = check.needs.find((feature) => env.missing.has(feature));
  const missing = missingFeature === undefined ? undefined : env.missing.get(missingFeature);
  // Issue: "a clear 'not testable' failure for the checks that need them, never a silent skip".
  // Without --server-command (or -H credentials) the restart (or credential) checks are not
  // testable through no fault of the server: a note with the reason (issue 9: "reported as
  // not testable, never as passed").
  const settled: Settled =
    missing === undefined
      ? await runBounded(check, context, env.checkTimeoutMs + (check.needs.includes('server-command') ? restartAllowanceMs : 0))
      : { outcome: missingFeature === 'server-command' || missingFeature === 'credentials' ? { kind: 'note', reason: `not testable: ${missing}` } : { kind: 'failure', reason: `not testable: ${missing}` } };
  // Cancels whatever the check left running (held polls, sleeps) so nothing outlives it.
  controller.abort(new Error(`check ${check.id} ended`));
  // A restart check that failed half-way leaves the server running for the next one.
  if (env.server && check.needs.includes('server-command')) await env.server.ensureRunning().catch(() => {});
  const { outcome } = settled;
  const evidence = settled.evidence && settled.evidence.length > 0 ? settled.evidence : context.evidence;
  const status = statusOf(check.level, outcome, env.strict, env.isExpectedFailure(check.id));
  const reason = status === 'unexpected-pass' ? staleBaselineReason : outcome.kind === 'pass' ? undefined : outcome.reason;
  return {
    id: check.id,
    title: check.title,
    level: check.level,
    section: check.section,
    specRef: check.specRef,
    status,
    ...(reason === undefined ? {} : { reason }),
    evidence: [...evidence],
    ms: Math.round(performance.now() - started),
  };
}
