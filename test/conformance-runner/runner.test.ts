import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { check, type Check, type CheckResult } from '../../conformance/check.ts';
import { DiscoveryError, UsageError } from '../../conformance/errors.ts';
import { exitCodeOf } from '../../conformance/report.ts';
import { runChecks, type RunOptions } from '../../conformance/runner.ts';
import * as fake from './fake-checks.ts';
import { startFakeServer, testDiscovery, type FakeServer } from './fake-server.ts';

let server: FakeServer;
let plainServer: FakeServer;

beforeAll(async () => {
  server = await startFakeServer();
  plainServer = await startFakeServer(testDiscovery({ conformance: false, streams: [{ name: 'ok', resumable: false }] }));
});
afterAll(async () => {
  await server.close();
  await plainServer.close();
});

async function run(checks: Check[], options: Partial<RunOptions> = {}) {
  const report = await runChecks(checks, { endpoint: server.url, ...options });
  const status = Object.fromEntries(report.results.map((result) => [result.id, result.status]));
  return { report, status };
}

describe('classification', () => {
  test('MUST → fail, SHOULD → warning, MAY → note, other throw → harness error', async () => {
    const { report, status } = await run(fake.mixed);
    expect(status).toEqual({
      'SSP-OPEN-1': 'pass',
      'SSP-HOLD-3': 'fail',
      'SSP-CORS-5': 'warning',
      'SSP-SIGNATURE-9': 'note',
      'SSP-BATCH-2': 'harness-error',
      'SSP-OPEN-2': 'fail',
      'SSP-LIFETIME-1': 'pass',
    });
    expect(report.summary).toEqual({ total: 7, pass: 2, fail: 2, warning: 1, note: 1, harnessError: 1, expectedFailure: 0, unexpectedPass: 0 });
    expect(report.conforming).toBe(false);
    expect(exitCodeOf(report.summary)).toBe(1);
  });

  test('a failure carries its reason, spec link and the evidence', async () => {
    const { report } = await run([fake.failingMust]);
    const [result] = report.results;
    expect(result.reason).toBe('expected no events, got 1 <&>');
    expect(result.specRef).toBe('spec/ssp-1.md#SSP-HOLD-3');
    expect(result.evidence.map((exchange) => JSON.parse(exchange.request.body ?? '{}').type)).toEqual(['open', 'poll']);
  });

  test('a harness error names the exception and is not a failure', async () => {
    const { report } = await run([fake.passing, fake.harnessBug]);
    expect(report.results[1].reason).toMatch(/^TypeError: cannot read properties of undefined/);
    expect(exitCodeOf(report.summary)).toBe(3);
  });

  test('a message violating its schema fails the check that received it', async () => {
    const { report } = await run([fake.schemaViolation]);
    expect(report.results[0].status).toBe('fail');
    expect(report.results[0].reason).toMatch(/violates its schema/);
  });

  test('a hanging check is cut by the per-check timeout and reported as a harness error', async () => {
    const { report } = await run([fake.hanging, fake.passing], { checkTimeoutMs: 300 });
    expect(report.results[0]).toMatchObject({ status: 'harness-error' });
    expect(report.results[0].reason).toMatch(/did not finish within 300 ms/);
    expect(report.results[1].status).toBe('pass');
  });

  test('a request left running when a check fails is aborted without an unhandled rejection', async () => {
    const abandoning = check('SSP-HOLD-5', 'MUST answer a held poll', async (ctx) => {
      void ctx.send({ ssp: 1, type: 'open', stream: 'hang' });
      void ctx.sleep(10_000);
      await ctx.sleep(20);
      ctx.fail('gave up');
    });
    const { report } = await run([abandoning]);
    expect(report.results[0]).toMatchObject({ status: 'fail', reason: 'gave up' });
    expect(report.results[0].evidence[0].response).toBeUndefined();
  });

  test('strict mode turns SHOULD failures into failures', async () => {
    const { status, report } = await run([fake.failingShould, fake.failingMay], { strict: true });
    expect(status).toEqual({ 'SSP-CORS-5': 'fail', 'SSP-SIGNATURE-9': 'note' });
    expect(report.strict).toBe(true);
  });

  test('only notes and warnings: conforming', async () => {
    const { report } = await run([fake.passing, fake.failingShould, fake.failingMay]);
    expect(report.conforming).toBe(true);
    expect(exitCodeOf(report.summary)).toBe(0);
  });
});

describe('not testable', () => {
  test('a check needing the annex fails against a server without it, with the reason', async () => {
    const report = await runChecks([fake.needsAnnex], { endpoint: plainServer.url });
    expect(report.results[0]).toMatchObject({
      status: 'fail',
      reason: 'not testable: server does not offer the conformance annex streams (start it with its conformance flag)',
      evidence: [],
    });
  });

  test('the same check runs against a server offering the annex', async () => {
    expect((await run([fake.needsAnnex])).status).toEqual({ 'SSP-ANNEX-1': 'pass' });
  });

  test('a server claiming the annex without listing its streams is caught', async () => {
    const liar = await startFakeServer(testDiscovery({ streams: [{ name: 'ok', resumable: false }] }));
    try {
      const report = await runChecks([fake.needsAnnex], { endpoint: liar.url });
      expect(report.results[0].reason).toMatch(/^not testable: server claims the conformance annex but does not list ssp.counter/);
    } finally {
      await liar.close();
    }
  });

  test('a check throwing CheckNote is a note with its reason, whatever its level, even under strict', async () => {
    const { report } = await run([fake.throwsNote], { strict: true });
    expect(report.results[0]).toMatchObject({ level: 'MUST', status: 'note', reason: 'not applicable: the server does not allow origin https://a.example' });
    expect(report.conforming).toBe(true);
    expect(exitCodeOf(report.summary)).toBe(0);
  });

  test('a check throwing NotTestable fails with "not testable"', async () => {
    const { report } = await run([fake.throwsNotTestable]);
    expect(report.results[0]).toMatchObject({ status: 'fail', reason: 'not testable: retainEvents is too large to overflow' });
  });
});

describe('expected-failures baseline', () => {
  test('a listed failing check is an expected failure and does not fail the run', async () => {
    const { report } = await run([fake.passing, fake.failingMust], { expectedFailures: ['SSP-HOLD-3'] });
    expect(report.results[1].status).toBe('expected-failure');
    expect(exitCodeOf(report.summary)).toBe(0);
  });

  test('a listed check that passes is an unexpected pass and fails the run', async () => {
    const { report } = await run([fake.passing], { expectedFailures: ['SSP-OPEN-1'] });
    expect(report.results[0]).toMatchObject({ status: 'unexpected-pass' });
    expect(report.results[0].reason).toMatch(/remove it from the baseline/);
    expect(exitCodeOf(report.summary)).toBe(1);
  });

  test('a requirement ID covers its variants', async () => {
    const variant = check('SSP-HOLD-3/hold-0', 'MUST answer hold 0 at once', async (ctx) => ctx.fail('late'));
    const { status } = await run([variant], { expectedFailures: ['SSP-HOLD-3'] });
    expect(status).toEqual({ 'SSP-HOLD-3/hold-0': 'expected-failure' });
  });

  test('an entry matching no check is a usage error', async () => {
    await expect(run([fake.passing], { expectedFailures: ['SSP-NOPE-1'] })).rejects.toThrow(UsageError);
  });
});

describe('selection and concurrency', () => {
  test('only and skip match IDs, prefixes and sections', async () => {
    expect(Object.keys((await run(fake.mixed, { only: ['OPEN'] })).status)).toEqual(['SSP-OPEN-1', 'SSP-OPEN-2']);
    expect(Object.keys((await run(fake.mixed, { only: ['SSP-HOLD,ssp-open-2'] })).status)).toEqual(['SSP-HOLD-3', 'SSP-OPEN-2']);
    expect(Object.keys((await run(fake.mixed, { skip: ['SSP-OPEN', 'HOLD', 'CORS', 'SIGNATURE', 'BATCH'] })).status)).toEqual(['SSP-LIFETIME-1']);
  });

  test('a filter token matching nothing is a usage error', async () => {
    await expect(run(fake.mixed, { only: ['SSP-HOL'] })).rejects.toThrow(/--only: no check matches 'SSP-HOL'/);
  });

  test('non-exclusive checks overlap; exclusive ones run alone; results keep declared order', async () => {
    const log: string[] = [];
    const slow = (id: string, exclusive: boolean) =>
      check(id, 'MUST take a while', async (ctx) => {
        log.push(`start ${id}`);
        await ctx.sleep(60);
        log.push(`end ${id}`);
      }, { exclusive });
    const checks = [slow('SSP-LIFETIME-1', true), slow('SSP-HOLD-1', false), slow('SSP-HOLD-2', false), slow('SSP-LIFETIME-2', true)];
    const seen: CheckResult[] = [];
    const { report } = await run(checks, { concurrency: 2, onResult: (result) => seen.push(result) });
    expect(log.slice(0, 2).sort()).toEqual(['start SSP-HOLD-1', 'start SSP-HOLD-2']);
    expect(log.slice(4)).toEqual(['start SSP-LIFETIME-1', 'end SSP-LIFETIME-1', 'start SSP-LIFETIME-2', 'end SSP-LIFETIME-2']);
    expect(report.results.map((result) => result.id)).toEqual(['SSP-LIFETIME-1', 'SSP-HOLD-1', 'SSP-HOLD-2', 'SSP-LIFETIME-2']);
    expect(seen).toHaveLength(4);
  });
});

describe('discovery', () => {
  test('an unreachable endpoint is a DiscoveryError', async () => {
    const gone = await startFakeServer();
    const url = gone.url;
    await gone.close();
    await expect(runChecks([fake.passing], { endpoint: url })).rejects.toMatchObject({ code: 'ENDPOINT_UNREACHABLE' });
  });

  test('an invalid discovery document is a DiscoveryError naming the schema error', async () => {
    const broken = await startFakeServer(JSON.stringify({ ...testDiscovery(), limits: { maxHoldMs: 0 } }));
    try {
      const error = await runChecks([fake.passing], { endpoint: broken.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DiscoveryError);
      expect((error as DiscoveryError).code).toBe('INVALID_DISCOVERY');
      expect((error as DiscoveryError).message).toMatch(/\/limits/);
    } finally {
      await broken.close();
    }
  });

  test('duplicate check IDs are refused', async () => {
    await expect(run([fake.passing, fake.passing])).rejects.toMatchObject({ code: 'DUPLICATE_CHECK_ID', ids: ['SSP-OPEN-1'] });
  });

  test('bad options are usage errors', async () => {
    await expect(run([fake.passing], { timeoutScale: 0 })).rejects.toThrow(UsageError);
    await expect(run([fake.passing], { concurrency: 1.5 })).rejects.toThrow(UsageError);
    await expect(runChecks([fake.passing], { endpoint: 'ftp://example.com/' })).rejects.toThrow(UsageError);
  });
});

describe('origin', () => {
  const origins = () => server.headers.map((headers) => headers.origin).filter((origin) => origin !== undefined);

  test('the CORS checks send an .invalid origin by default, RunOptions.origin otherwise (serialized)', async () => {
    const before = origins().length;
    await run([fake.sendsOrigin]);
    await run([fake.sendsOrigin], { origin: 'https://App.Example.com:443/' });
    expect(origins().slice(before)).toEqual(['https://conformance.xanjax.invalid', 'https://app.example.com']);
  });

  test('an origin that is not scheme://host[:port] is a usage error', async () => {
    for (const origin of ['app.example.com', 'ftp://example.com', 'https://example.com/app', 'https://example.com/?q']) {
      await expect(run([fake.sendsOrigin], { origin })).rejects.toBeInstanceOf(UsageError);
    }
  });
});
