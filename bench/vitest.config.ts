import { defineConfig } from 'vitest/config';

// Benchmark runner only (npm run bench → bench/run.mjs). The normal `npm test` config includes
// test/**/*.test.ts, so nothing here is picked up by it.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['bench/**/*.bench-run.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default'],
    // the runner prints its own progress lines to stderr; keep them in order
    disableConsoleIntercept: true,
  },
});
