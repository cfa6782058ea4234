import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite: real processes, real faults, one scenario at a time (each
 * owns a private Redis, a database and server processes, and timing matters).
 * FAULTS_PROFILE=full for the release check, ci (the default) for the quick one.
 */
const full = process.env.FAULTS_PROFILE === 'full';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: full ? 600_000 : 150_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});
