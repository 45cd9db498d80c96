import { defineConfig } from 'vitest/config';

// Not a test suite: `npm run bench:nla` uses vitest only to run the TypeScript runner with the launcher.
export default defineConfig({
  test: { include: ['bench/nla/nla-compare.run.ts'], testTimeout: 600_000, hookTimeout: 120_000, fileParallelism: false },
});
