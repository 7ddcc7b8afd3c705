// --only / --skip: a token matches a check by exact ID, by ID prefix ending at an ID
// boundary (`SSP-HOLD` and `SSP-HOLD-3` match `SSP-HOLD-3/variant`, not `SSP-HOLD-30`),
// or by section name (`HOLD`). Case-insensitive. A token matching no check is a usage
// error: a typo must not silently select nothing (or skip nothing).
import type { Check } from './check.ts';
import { UsageError } from './errors.ts';

export interface Selection {
  only?: string[] | undefined;
  skip?: string[] | undefined;
}

export function matches(check: Check, token: string): boolean {
  const id = check.id.toUpperCase();
  const wanted = token.trim().toUpperCase();
  if (wanted === '') return false;
  if (id === wanted || wanted === check.section.toUpperCase()) return true;
  return id.startsWith(wanted) && (id[wanted.length] === '-' || id[wanted.length] === '/');
}

/** Split repeatable, comma-separated option values into tokens. */
export function tokens(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(',')).map((token) => token.trim()).filter((token) => token !== '');
}

export function selectChecks(checks: readonly Check[], selection: Selection): Check[] {
  const only = tokens(selection.only);
  const skip = tokens(selection.skip);
  for (const [option, list] of [['--only', only], ['--skip', skip]] as const) {
    const unknown = list.filter((token) => !checks.some((check) => matches(check, token)));
    if (unknown.length > 0) throw new UsageError(`${option}: no check matches ${unknown.map((t) => `'${t}'`).join(', ')}`);
  }
  return checks.filter(
    (check) => (only.length === 0 || only.some((token) => matches(check, token))) && !skip.some((token) => matches(check, token)),
  );
}
