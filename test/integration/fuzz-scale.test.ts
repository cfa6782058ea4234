import { describe, expect, it } from 'vitest';
import { regressionSeeds, runFuzz } from '../fuzz/run.js';

/**
 * The wire fuzzer at scale (test/fuzz/): FUZZ_FRAMES frames (5,000 in `npm test`,
 * 100,000 with `npm run test:fuzz`) from seeded chunks, the chunk seeds that once failed
 * (test/fuzz/regression-seeds.json) replayed first. FUZZ_SEED fixes the first seed.
 */
const frames = Number(process.env.FUZZ_FRAMES ?? 5_000);
const baseSeed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

describe('fuzzing the wire at scale', () => {
  it(
    `${frames} generated and mutated frames over four connections with mixed scopes: no INTERNAL, no undocumented close, the node alive, the boards equal to the model of accepted writes`,
    async () => {
      const report = await runFuzz({ frames, ...(baseSeed !== undefined ? { baseSeed } : {}), log: (line) => console.info(`fuzz: ${line}`) });
      console.info(`fuzz report: ${JSON.stringify({ ...report, regressionSeeds: regressionSeeds().length })}`);
      expect(report.problems).toEqual([]);
      expect(report.frames).toBeGreaterThanOrEqual(frames);
      expect(report.writesModelled).toBeGreaterThan(0);
      expect(report.keysCompared).toBeGreaterThan(0);
    },
    Math.max(120_000, frames * 10),
  );
});
