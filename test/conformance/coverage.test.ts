// The coverage rules of issue 4: every observable server requirement has a check, every
// server MUST a check or a registry reason, every check names a real server requirement at
// its level, every checked MUST is proven by a broken variant (or justified in
// broken/unproven.ts), and conformance/COVERAGE.md is up to date.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { coveragePath, coverageTable } from '../../scripts/coverage-table.ts';
import { currentRequirements } from '../../scripts/requirements.ts';
import { allVariants as proxyVariants } from './broken/index.ts';
import { restartVariants } from './broken/restart-variants.ts';
import { unprovenMusts } from './broken/unproven.ts';

const requirements = currentRequirements();
const byId = new Map(requirements.map((requirement) => [requirement.id, requirement]));
const server = requirements.filter((requirement) => requirement.binds === 'server');
const checked = new Set(allChecks.map((check) => check.id.split('/')[0]!));
// The restart variants run as their own processes (restart.test.ts); the conforming one breaks nothing.
const allVariants = [...proxyVariants, ...restartVariants('').filter((variant) => variant.breaks.length > 0)];
const proven = new Set(allVariants.flatMap((variant) => variant.breaks));

describe('conformance coverage', () => {
  it('has a check for every observable server requirement', () => {
    expect(server.filter((r) => r.observable && !checked.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('gives every server MUST a check or a reason it cannot be observed', () => {
    const missing = server.filter((r) => r.level === 'MUST' && !checked.has(r.id) && !(r.observable === false && (r.reason ?? '').trim() !== ''));
    expect(missing.map((r) => r.id)).toEqual([]);
  });

  it('names an existing server requirement at its level in every check', () => {
    const wrong = allChecks
      .map((check) => ({ check, requirement: byId.get(check.id.split('/')[0]!) }))
      .filter(({ check, requirement }) => !requirement || requirement.binds !== 'server' || requirement.level !== check.level)
      .map(({ check, requirement }) => `${check.id} (${check.level}): ${requirement ? `${requirement.binds} ${requirement.level}` : 'no such requirement'}`);
    expect(wrong).toEqual([]);
  });

  it('has unique check IDs', () => {
    const ids = allChecks.map((check) => check.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('proves every checked server MUST with a broken variant, or says why none can', () => {
    const unproven = server.filter((r) => r.level === 'MUST' && checked.has(r.id) && !proven.has(r.id) && !(r.id in unprovenMusts));
    expect(unproven.map((r) => r.id)).toEqual([]);
  });

  it('keeps the unproven list honest: checked MUSTs that no variant proves', () => {
    const stale = Object.keys(unprovenMusts).filter((id) => byId.get(id)?.level !== 'MUST' || !checked.has(id) || proven.has(id));
    expect(stale).toEqual([]);
  });

  it('declares only checked server requirements as broken by a variant', () => {
    const unknown = allVariants.flatMap((variant) => variant.breaks.filter((id) => byId.get(id)?.binds !== 'server' || !checked.has(id)).map((id) => `${variant.name}: ${id}`));
    expect(unknown).toEqual([]);
  });

  it('explains every variant that breaks more than one requirement', () => {
    expect(allVariants.filter((variant) => variant.breaks.length > 1 && !variant.consequences).map((variant) => variant.name)).toEqual([]);
  });

  it('has unique variant names', () => {
    const names = allVariants.map((variant) => variant.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('keeps conformance/COVERAGE.md up to date (npx tsx scripts/coverage-table.ts)', () => {
    expect(readFileSync(coveragePath, 'utf8')).toBe(coverageTable(requirements));
  });
});
