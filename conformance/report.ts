// The run's result as every reporter sees it: exactly the JSON report
// (schemas/conformance-report.schema.json), and the exit code it implies.
import type { CheckResult } from './check.ts';
import type { ConformanceReport, ReportSummary } from '../schemas/types.gen.ts';
import { tool } from './version.ts';

/** The JSON report (its schema's generated type), with results as the runner's own type. */
export interface RunSummary extends Omit<ConformanceReport, 'results'> {
  results: CheckResult[];
}

export function countResults(results: readonly CheckResult[]): ReportSummary {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  return {
    total: results.length,
    pass: count('pass'),
    fail: count('fail'),
    warning: count('warning'),
    note: count('note'),
    harnessError: count('harness-error'),
    expectedFailure: count('expected-failure'),
    unexpectedPass: count('unexpected-pass'),
  };
}

/**
 * Issue: 0 conforming; 1 a MUST failed (or a SHOULD under --strict, which the runner
 * already reports as a failure), or a baseline entry now passes; 3 harness error (only
 * when nothing failed: a failure is the stronger news). 2 (usage) never comes from a run.
 */
export function exitCodeOf(summary: ReportSummary): 0 | 1 | 3 {
  if (summary.fail > 0 || summary.unexpectedPass > 0) return 1;
  if (summary.harnessError > 0) return 3;
  return 0;
}

export function buildReport(fields: Omit<RunSummary, 'tool' | 'summary' | 'conforming'>): RunSummary {
  const summary = countResults(fields.results);
  return { tool, ...fields, conforming: exitCodeOf(summary) === 0, summary };
}
