// runChecks: discovery once, then every selected check, non-exclusive ones concurrently
// (bounded), exclusive ones (timing, server-wide state) alone afterwards, and the audit
// checks (every response the others received) last.
import type { Check, CheckResult } from './check.ts';
import { createAgent } from './agent.ts';
import { assertBaselineKnown } from './baseline.ts';
import { fetchDiscovery } from './discovery.ts';
import { CheckListError, DiscoveryError, UsageError } from './errors.ts';
import { ServerProcess } from './server-process.ts';
import { buildReport, type RunSummary } from './report.ts';
import { checkEnvironment, runCheck } from './run-check.ts';
import { parseOrigin } from './origin.ts';
import { selectChecks } from './select.ts';

export interface RunOptions {
  endpoint: string | URL;
  /** Extra request headers (the CLI's -H), sent with every request. */
  headers?: Record<string, string> | undefined;
  /** The Origin the CORS checks send (--origin), e.g. one a server with an allow-list allows. */
  origin?: string | undefined;
  /** SHOULD failures count as failures. */
  strict?: boolean | undefined;
  /** Multiplies every wait and timeout derived from the server's limits (default 1). */
  timeoutScale?: number | undefined;
  /** Non-exclusive checks run at most this many at a time (default 8). */
  concurrency?: number | undefined;
  /** Tokens as for --only / --skip (select.ts). */
  only?: string[] | undefined;
  skip?: string[] | undefined;
  /** Baseline IDs (baseline.ts); checked against all of `checks`, not just the selected ones. */
  expectedFailures?: string[] | undefined;
  /** Overrides the per-check time bound derived from the limits (timing.ts). */
  checkTimeoutMs?: number | undefined;
  /**
   * A shell command that starts the server under test (--server-command): the runner starts
   * it, waits for discovery, runs the restart checks (which stop and restart it) and stops it
   * at the end with SIGTERM. Without it the restart checks are notes.
   */
  serverCommand?: string | undefined;
  /** Called once the checks to run are known, before the first one starts. */
  onStart?(checks: readonly Check[]): void;
  /** Called as each check finishes (in completion order). */
  onResult?: ((result: CheckResult, done: number, total: number) => void) | undefined;
}

export const defaultConcurrency = 8;

function endpointUrl(endpoint: string | URL): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`not a URL: '${String(endpoint)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`endpoint must be an http(s) URL: '${url.href}'`);
  return url;
}

function positive(name: string, value: number, integer: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

/** Results, filters and the baseline are keyed by ID, so an ID declared twice is ambiguous. */
function assertUniqueIds(checks: readonly Check[]): void {
  const ids = checks.map((check) => check.id);
  const duplicates = [...new Set(ids.filter((id, index) => ids.indexOf(id) !== index))];
  if (duplicates.length > 0) throw new CheckListError(duplicates);
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Throws CheckListError (duplicate IDs), UsageError (bad options, filters or baseline) or
 * DiscoveryError (endpoint unreachable, invalid discovery) before any check runs; never
 * throws afterwards.
 */
export async function runChecks(checks: readonly Check[], options: RunOptions): Promise<RunSummary> {
  assertUniqueIds(checks);
  const endpoint = endpointUrl(options.endpoint);
  const timeoutScale = positive('timeout scale', options.timeoutScale ?? 1, false);
  const concurrency = positive('concurrency', options.concurrency ?? defaultConcurrency, true);
  const origin = options.origin === undefined ? undefined : parseOrigin(options.origin);
  const baseline = options.expectedFailures ?? [];
  assertBaselineKnown(baseline, checks);
  const selected = selectChecks(checks, { only: options.only, skip: options.skip });
  if (selected.length === 0) throw new UsageError('no checks selected');

  const startedAt = new Date();
  const started = performance.now();
  const dispatcher = createAgent();
  const server = options.serverCommand === undefined ? undefined : new ServerProcess(options.serverCommand, endpoint, timeoutScale);
  try {
    if (server) await server.start().catch((error: unknown) => {
      throw new DiscoveryError('ENDPOINT_UNREACHABLE', `--server-command: ${(error as Error).message}`);
    });
    const discovery = await fetchDiscovery(endpoint, { headers: options.headers, timeoutScale, dispatcher });
    const env = checkEnvironment({ endpoint, discovery, headers: options.headers, origin, timeoutScale, strict: options.strict, dispatcher, checkTimeoutMs: options.checkTimeoutMs, baseline, ...(server ? { server } : {}) });
    options.onStart?.(selected);
    const results = new Map<Check, CheckResult>();
    const run = async (check: Check) => {
      const result = await runCheck(check, env);
      results.set(check, result);
      options.onResult?.(result, results.size, selected.length);
    };
    await pool(selected.filter((check) => !check.exclusive && !check.last), concurrency, run);
    await pool(selected.filter((check) => check.exclusive && !check.last), 1, run);
    // The audit checks judge every response the others received.
    await pool(selected.filter((check) => check.last), concurrency, run);
    return buildReport({
      endpoint: endpoint.href,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      strict: env.strict,
      // Declaration order (spec order), whatever order they finished in.
      results: selected.map((check) => results.get(check) as CheckResult),
    });
  } finally {
    // Drops kept-alive and leftover sockets so the process can exit at once.
    await dispatcher.destroy();
    await server?.stop('SIGTERM');
  }
}
