// Expected-failures baseline (--expected-failures FILE): a text file, one check ID per
// line, `#` starts a comment. A listed check that fails is reported as an expected
// failure; one that now passes fails the run (the baseline is stale). An entry naming
// no check is a usage error, so a typo cannot hide a failure.
import { readFile } from 'node:fs/promises';
import type { Check } from './check.ts';
import { UsageError } from './errors.ts';

export function parseBaseline(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

export async function readBaseline(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--expected-failures: cannot read ${file}: ${(error as Error).message}`);
  }
  return parseBaseline(text);
}

/** An entry names a check ID exactly, or a requirement ID covering all its `/variant` checks. */
export function isExpected(baseline: readonly string[], checkId: string): boolean {
  return baseline.some((entry) => checkId === entry || checkId.startsWith(`${entry}/`));
}

export function assertBaselineKnown(baseline: readonly string[], checks: readonly Check[]): void {
  const unknown = baseline.filter((entry) => !checks.some((check) => isExpected([entry], check.id)));
  if (unknown.length > 0) throw new UsageError(`expected failures: no check has the ID ${unknown.map((id) => `'${id}'`).join(', ')}`);
}
