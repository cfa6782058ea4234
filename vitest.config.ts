import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/langgraph/**/*.test.ts', 'test/browser/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Replies and pushes the tests receive must match docs/protocol.schema.json.
    setupFiles: ['test/helpers/frame-check-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
