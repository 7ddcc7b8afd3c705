// The run's result as every reporter sees it: exactly the JSON report
// (schemas/conformance-report.schema.json), and the exit code it implies.
import type { CheckResult } from './check.ts';
import type { ReportSummary } from '../schemas/types.gen.ts';
import { tool } from './version.ts';

export interface RunSummary {
  tool: typeof tool;
  endpoint: string;
  startedAt: string;
  durationMs: number;
  strict: boolean;
  conforming: boolean;
  summary: ReportSummary;
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
