import { afterAll, afterEach, beforeAll } from 'vitest';
import { takeViolations, warmUp } from './frame-check.js';

/**
 * Every test file: a frame received that does not validate against docs/protocol.schema.json
 * fails the test that received it (or, arriving after its test, the file's teardown).
 */
function failOnViolations(): void {
  const found = takeViolations();
  if (found.length > 0) throw new Error(`frames that do not match docs/protocol.schema.json:\n${found.slice(0, 5).join('\n')}`);
}

beforeAll(warmUp);
afterEach(failOnViolations);
afterAll(failOnViolations);
