import { defineConfig } from 'vitest/config';

// Not a test suite: `npm run record-captures` uses vitest only to run the TypeScript recorder with the launcher.
export default defineConfig({
  test: { include: ['captures/record.run.ts'], testTimeout: 300_000, hookTimeout: 120_000, fileParallelism: false },
});
