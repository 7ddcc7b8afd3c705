import { defineConfig } from 'vitest/config';

// The conformance proofs judge timing (holds, expiry) against the reference server in the
// same process, so they run alone, after everything else: on two shared cores, running them
// beside Chromium or other servers would make a slow event loop look like a broken server.
const timing = [
  'test/conformance/reference.test.ts',
  'test/conformance/reference-limits.test.ts',
  'test/conformance/reference-http2.test.ts',
  // Restart checks (servers as child processes) and the client kit (clients judged by timing).
  'test/conformance/restart.test.ts',
  'test/client-kit/client-kit.test.ts',
  // Builds, packs and installs the package, then runs the conformance runner from it.
  'test/package/package.test.ts',
  'test/proxy/nginx.test.ts',
  'test/durable/conformance-durable.test.ts',
  'test/durable/restart-durable.test.ts',
  // Cuts and restores the Redis connection: its reconnect timing once hung beside the parallel suite.
  'test/durable/redis-log.test.ts',
];

// The broken-variant proofs, in shards: the shards run at once, one process each (see
// test/conformance/broken/prove-variants.ts), after everything else.
const variantShards = ['test/conformance/broken-variants-*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests start real servers, child processes and Chromium: two cores, so keep parallelism modest.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [...timing, ...variantShards],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'conformance-proofs',
          include: timing,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'variant-proofs',
          include: variantShards,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
