import { defineConfig } from 'vitest/config';

// Not a test suite: `npm run bench:speed` uses vitest only to run the TypeScript runner with the server launcher.
export default defineConfig({
  test: { include: ['bench/speed/speed.run.ts'], testTimeout: 1_800_000, hookTimeout: 120_000, fileParallelism: false, reporters: ['default'] },
});
