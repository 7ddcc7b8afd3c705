// Results grouped by spec section, sections in the order their first check ran in the
// declared list (the spec's order).
import type { ReportSummary } from '../../schemas/types.gen.ts';
import type { CheckResult } from '../check.ts';

export function bySection(results: readonly CheckResult[]): Map<string, CheckResult[]> {
  const groups = new Map<string, CheckResult[]>();
  for (const result of results) {
    const group = groups.get(result.section) ?? [];
    group.push(result);
    groups.set(result.section, group);
  }
  return groups;
}

/** "12 passed, 1 failed, …" listing only the statuses that occurred. */
export function summaryLine(summary: ReportSummary): string {
  const parts: [number, string][] = [
    [summary.pass, 'passed'],
    [summary.fail, 'failed'],
    [summary.warning, summary.warning === 1 ? 'warning' : 'warnings'],
    [summary.note, summary.note === 1 ? 'note' : 'notes'],
    [summary.harnessError, summary.harnessError === 1 ? 'harness error' : 'harness errors'],
    [summary.expectedFailure, summary.expectedFailure === 1 ? 'expected failure' : 'expected failures'],
    [summary.unexpectedPass, summary.unexpectedPass === 1 ? 'unexpected pass' : 'unexpected passes'],
  ];
  const shown = parts.filter(([n]) => n > 0).map(([n, label]) => `${n} ${label}`);
  return `${summary.total} check${summary.total === 1 ? '' : 's'}: ${shown.join(', ') || 'none run'}`;
}
