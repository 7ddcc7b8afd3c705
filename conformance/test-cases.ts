// conformanceTests(): the checks as ordinary test cases for vitest, jest or node:test
// (`for (const t of await conformanceTests(url)) test(`${t.id} ${t.title}`, t.run, t.timeoutMs)`).
// A test case throws when the run would fail: MUST failures, SHOULD failures under
// `strict`, harness errors and stale baseline entries; warnings and notes pass.
import type { Check, CheckResult, Level } from './check.ts';
import { createAgent } from './agent.ts';
import { assertBaselineKnown } from './baseline.ts';
import { fetchDiscovery } from './discovery.ts';
import { connectionHeaders, transcript } from './reporters/transcript.ts';
import { checkEnvironment, runCheck } from './run-check.ts';
import { parseOrigin } from './origin.ts';
import { selectChecks, type Selection } from './select.ts';
import { checkTimeoutMs } from './timing.ts';
import { ResponseAudit } from './audit.ts';

export interface ConformanceTestOptions extends Selection {
  headers?: Record<string, string> | undefined;
  /** The Origin the CORS checks send (RunOptions.origin). */
  origin?: string | undefined;
  strict?: boolean | undefined;
  timeoutScale?: number | undefined;
  expectedFailures?: string[] | undefined;
}

export interface ConformanceTest {
  id: string;
  title: string;
  level: Level;
  /** A test timeout that lets the check finish (its own bound plus a margin); pass it to your framework. */
  timeoutMs: number;
  run(): Promise<void>;
}

/** What a failing test case throws: the result, with reason, spec link and transcript in the message. */
export class ConformanceTestFailure extends Error {
  readonly code = 'CONFORMANCE_TEST_FAILED';
  constructor(readonly result: CheckResult) {
    const evidence = result.evidence.length > 0 ? `\n\n${transcript(result.evidence, { maxBody: 2000, lastExchanges: 6, hideHeaders: connectionHeaders })}` : '';
    super(`${result.status}: ${result.reason ?? ''}\nsee ${result.specRef}${evidence}`);
    this.name = 'ConformanceTestFailure';
  }
}

const failing = new Set<CheckResult['status']>(['fail', 'harness-error', 'unexpected-pass']);

export async function testCases(checks: readonly Check[], endpoint: string | URL, options: ConformanceTestOptions = {}): Promise<ConformanceTest[]> {
  const url = new URL(endpoint);
  const timeoutScale = options.timeoutScale ?? 1;
  const origin = options.origin === undefined ? undefined : parseOrigin(options.origin);
  const baseline = options.expectedFailures ?? [];
  assertBaselineKnown(baseline, checks);
  const selected = selectChecks(checks, options);
  const discoveryAgent = createAgent();
  const discovery = await fetchDiscovery(url, { headers: options.headers, timeoutScale, dispatcher: discoveryAgent }).finally(() =>
    discoveryAgent.destroy(),
  );
  const boundMs = checkTimeoutMs(discovery.limits, timeoutScale);
  // One audit for every case: the audit checks, declared last, judge the responses of the cases run before them.
  const audit = new ResponseAudit();
  return selected.map((check) => ({
    id: check.id,
    title: check.title,
    level: check.level,
    timeoutMs: boundMs + 5_000,
    async run() {
      // One agent per test case: test runners may run cases in any order or in workers,
      // and nothing may stay open after a case ends.
      const dispatcher = createAgent();
      try {
        const env = checkEnvironment({ endpoint: url, discovery, headers: options.headers, origin, timeoutScale, strict: options.strict, dispatcher, checkTimeoutMs: boundMs, baseline, audit });
        const result = await runCheck(check, env);
        if (failing.has(result.status)) throw new ConformanceTestFailure(result);
      } finally {
        await dispatcher.destroy();
      }
    },
  }));
}
