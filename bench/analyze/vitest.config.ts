import { defineConfig } from 'vitest/config';

// Not a test suite: vitest only runs the TypeScript runner (npx vitest run --config bench/analyze/vitest.config.ts).
export default defineConfig({
  test: { include: ['bench/analyze/analyze.run.ts'], testTimeout: 1_800_000, fileParallelism: false, reporters: ['default'] },
});
