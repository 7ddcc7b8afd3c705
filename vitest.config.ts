import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{conformance,reference-server,reference-client,schemas,spec}/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests start real servers, child processes, Redis and Chromium: two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
