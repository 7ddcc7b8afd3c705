// Programmatic API of the conformance runner: the declared checks, the runner, the check
// context, and the checks as ordinary test cases for any test framework.
import { allChecks } from './checks/index.ts';
import type { Check } from './check.ts';
import { selectChecks, type Selection } from './select.ts';
import { testCases, type ConformanceTest, type ConformanceTestOptions } from './test-cases.ts';

export { check, CheckFailure, CheckNote, NotTestable } from './check.ts';
export type { Answer, Check, CheckContext, CheckOptions, CheckResult, Exchange, Features, Level, RawAnswer, RawRequest } from './check.ts';
export { createContext, type ContextOptions } from './context.ts';
export { DiscoveryError, UsageError } from './errors.ts';
export { exitCodeOf, type RunSummary } from './report.ts';
export { reporters, type ReporterName } from './reporters/index.ts';
export { runChecks, type RunOptions } from './runner.ts';
export { ConformanceTestFailure, type ConformanceTest, type ConformanceTestOptions } from './test-cases.ts';
export type { Selection } from './select.ts';

/** The declared checks (spec order), filtered like --only / --skip. */
export function getChecks(selection: Selection = {}): Check[] {
  return selectChecks(allChecks, selection);
}

/** Every selected check as a test case; fetches the discovery document once. */
export function conformanceTests(endpoint: string | URL, options: ConformanceTestOptions = {}): Promise<ConformanceTest[]> {
  return testCases(allChecks, endpoint, options);
}
