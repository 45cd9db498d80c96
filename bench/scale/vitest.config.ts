import { defineConfig } from 'vitest/config';

// Not a test suite: `npm run bench:scale` uses vitest only to run the TypeScript runner with the launcher.
export default defineConfig({
  test: { include: ['bench/scale/scale.run.ts'], testTimeout: 1_800_000, hookTimeout: 120_000, fileParallelism: false, reporters: ['default'] },
});
