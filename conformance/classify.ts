// From what a check did to the status reported (issue: "severity from keyword"):
// a failure of a MUST is a failure, of a SHOULD a warning (a failure under --strict), of
// a MAY a note. "Not testable" counts as a failure of the check, never as a skip. Any
// other exception is a harness error: never counted as the server's fault. A check that
// cannot observe its requirement through no fault of the server (CheckNote) is a note.
import type { CheckResult, Level } from './check.ts';

export type Outcome =
  | { kind: 'pass' }
  | { kind: 'failure'; reason: string }
  | { kind: 'note'; reason: string }
  | { kind: 'harness-error'; reason: string };

export function statusOf(level: Level, outcome: Outcome, strict: boolean, expected: boolean): CheckResult['status'] {
  if (outcome.kind === 'harness-error') return 'harness-error';
  if (outcome.kind === 'pass') return expected ? 'unexpected-pass' : 'pass';
  if (outcome.kind === 'note') return 'note';
  if (expected) return 'expected-failure';
  if (level === 'MUST') return 'fail';
  if (level === 'SHOULD') return strict ? 'fail' : 'warning';
  return 'note';
}

export const staleBaselineReason = 'passes but is listed in the expected failures: remove it from the baseline';
