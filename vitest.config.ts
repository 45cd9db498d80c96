import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real-server suites start xrdp/shadow processes on fixed loopback addresses; run files one at a time
    // so two suites never race for the same address, and keep the output readable.
    fileParallelism: false,
    reporters: ['default', './test/reporters/summary-line.ts'],
  },
});
