import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConformanceTestFailure, testCases } from '../../conformance/test-cases.ts';
import * as fake from './fake-checks.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';

let server: FakeServer;

beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(() => server.close());

describe('conformanceTests (checks as test cases)', () => {
  test('one case per selected check, with id, title, level and a timeout above the check bound', async () => {
    const cases = await testCases(fake.mixed, server.url, { only: ['OPEN'] });
    // Bound for the test limits (timing.ts): 10 000 + 4 × 300 + 2000 + 5000.
    expect(cases.every((t) => t.timeoutMs > 18_200)).toBe(true);
    expect(cases.map(({ id, title, level }) => ({ id, title, level }))).toEqual([
      { id: 'SSP-OPEN-1', title: 'MUST answer open with a session', level: 'MUST' },
      { id: 'SSP-OPEN-2', title: 'MUST answer open with a valid session', level: 'MUST' },
    ]);
  });

  test('a passing check resolves; warnings and notes resolve unless strict', async () => {
    const cases = await testCases(fake.mixed, server.url, { only: ['SSP-OPEN-1', 'SSP-CORS-5', 'SSP-SIGNATURE-9'] });
    for (const t of cases) await expect(t.run()).resolves.toBeUndefined();
    const strict = await testCases(fake.mixed, server.url, { only: ['SSP-CORS-5'], strict: true });
    await expect(strict[0].run()).rejects.toThrow(ConformanceTestFailure);
  });

  test('a failing MUST rejects with the reason, spec link and transcript', async () => {
    const [t] = await testCases(fake.mixed, server.url, { only: ['SSP-HOLD-3'] });
    const error = await t.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceTestFailure);
    expect((error as Error).message).toMatch(/^fail: expected no events, got 1 <&>\nsee spec\/ssp-1\.md#SSP-HOLD-3\n\n> POST /);
    expect((error as ConformanceTestFailure).result.status).toBe('fail');
  });

  test('harness errors reject too; expected failures resolve', async () => {
    const [harness] = await testCases(fake.mixed, server.url, { only: ['SSP-BATCH-2'] });
    await expect(harness.run()).rejects.toThrow(/^harness-error: TypeError/);
    const [expected] = await testCases(fake.mixed, server.url, { only: ['SSP-HOLD-3'], expectedFailures: ['SSP-HOLD-3'] });
    await expect(expected.run()).resolves.toBeUndefined();
  });

  test('an unreachable endpoint rejects before any case exists', async () => {
    const gone = await startFakeServer();
    await gone.close();
    await expect(testCases(fake.mixed, gone.url)).rejects.toMatchObject({ code: 'ENDPOINT_UNREACHABLE' });
  });
});
