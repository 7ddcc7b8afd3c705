import { describe, expect, test } from 'vitest';
import { getChecks } from '../../conformance/index.ts';

describe('programmatic API', () => {
  test('getChecks returns the declared checks, filtered like --only / --skip', () => {
    const all = getChecks();
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((check) => check.id)).size).toBe(all.length);
    const hold = getChecks({ only: ['HOLD'] });
    expect(hold.length).toBeGreaterThan(0);
    expect(hold.every((check) => check.section === 'HOLD')).toBe(true);
    expect(getChecks({ skip: ['HOLD'] })).toHaveLength(all.length - hold.length);
  });
});
