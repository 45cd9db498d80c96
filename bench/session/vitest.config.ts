import { defineConfig } from 'vitest/config';

// Not a test suite: `npm run bench:session` uses vitest only to run the TypeScript runner with the launcher.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    // the parser tests (real outputs in bench/session/fixtures) first, then the run; BENCH_SESSION_FILE picks one
    include: process.env['BENCH_SESSION_FILE'] ? [process.env['BENCH_SESSION_FILE']] : ['bench/session/parsers.test.ts', 'bench/session/session.run.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
    pool: 'forks',
    disableConsoleIntercept: true,
  },
});
