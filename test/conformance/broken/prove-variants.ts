// Proving the checks (issue 4): each deliberately broken server variant must be reported
// as failing exactly the requirements it declares, nothing else, with zero harness errors,
// against the whole check list: so the proof also shows that a variant's breakage trips no
// check of another section unless the variant declares it as a consequence. While working
// on variants, XANJAX_VARIANTS=a,b proves only those, and XANJAX_SECTION_PROOF=1 runs each
// against the checks of the sections it breaks only (quicker; exact within them).
// The variants are split into shards, one test file each (broken-variants-N.test.ts), so that
// vitest proves them in two processes at once: each proof mostly waits on holds and timers,
// and one process's event loop bounds how many can wait at once.
import { describe, expect, it } from 'vitest';
import { allChecks } from '../../../conformance/checks/index.ts';
import { runChecks } from '../../../conformance/runner.ts';
import { startPooled } from '../../support/pool.ts';
import { allVariants } from './index.ts';
import { startBroken, type Variant } from './proxy.ts';

const full = process.env.XANJAX_SECTION_PROOF !== '1';
/**
 * Variants proven at the same time. The runs mostly wait on holds and timers, but they
 * share this process's event loop with their servers: too many at once and its lag
 * exceeds the timing tolerance of the hold and lifetime checks.
 */
const parallel = full ? 3 : 6;
const sectionOf = (id: string) => id.split('-')[1]!;

interface Outcome {
  failing: string[];
  harnessErrors: string[];
  /** Why each failing check failed, for the assertion message. */
  reasons: string[];
}

async function prove(variant: Variant): Promise<Outcome> {
  const server = await startBroken(variant);
  try {
    const only = full ? undefined : [...new Set([...variant.breaks.map(sectionOf), ...(variant.alsoRun ?? [])])];
    const summary = await runChecks(allChecks, { endpoint: server.url, concurrency: 16, ...(only ? { only } : {}), ...(variant.headers ? { headers: variant.headers } : {}) });
    // SHOULD failures are reported as warnings: a variant may break a SHOULD too.
    const failed = summary.results.filter((result) => result.status === 'fail' || result.status === 'warning');
    const failing = failed.map((result) => result.id.split('/')[0]!);
    const reasons = failed.map((result) => `${result.id}: ${result.reason ?? ''}`);
    const harnessErrors = summary.results.filter((result) => result.status === 'harness-error').map((result) => `${result.id}: ${result.reason ?? ''}`);
    return { failing: [...new Set(failing)].sort(), harnessErrors, reasons };
  } finally {
    await server.close();
  }
}

/** Proves the variants whose index in allVariants is `shard` modulo `shards`. */
export function proveVariantShard(shard: number, shards: number): void {
  describe(`broken server variants, shard ${shard + 1} of ${shards} (${full ? 'every check' : 'checks of the broken sections'})`, () => {
    // XANJAX_VARIANTS=a,b proves only the named variants (while working on them).
    const named = process.env.XANJAX_VARIANTS?.split(',');
    const variants = allVariants.filter((variant, i) => i % shards === shard && (!named || named.includes(variant.name)));
    const outcomes = startPooled(variants, parallel, prove);
    for (const variant of variants) {
      it(`${variant.name} fails exactly ${variant.breaks.join(', ')}`, { timeout: 240_000 }, async () => {
        const { failing, harnessErrors, reasons } = await outcomes.get(variant)!;
        expect(harnessErrors).toEqual([]);
        expect(failing, reasons.join('\n')).toEqual([...variant.breaks].sort());
      });
    }
  });
}
