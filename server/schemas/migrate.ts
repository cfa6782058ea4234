import fastJsonPatch from 'fast-json-patch';
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { MigrationStep } from '../../shared/protocol/messages/schemas.js';
import { applyTransform, type Transform } from './transforms.js';

const { applyOperation } = fastJsonPatch;

const PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** A migration step that could not be applied to a value. */
export class MigrationStepFailed extends Error {
  constructor(
    readonly step: number,
    reason: string,
  ) {
    super(`migration step ${step} failed: ${reason}`);
  }
}

/**
 * Applies migration steps to a value (JSON text) and returns the new text. The steps come
 * as JSON text and are parsed for each call: values a step inserts must not be shared
 * between documents, and numbers past 2^53 keep every digit.
 */
export function applyMigration(valueText: string, stepsText: string): string {
  const parsed = parseJson(valueText);
  const steps = parseJson(stepsText);
  let document = parsed.value;
  (steps.value as MigrationStep[]).forEach((step, i) => {
    try {
      document = PATCH_OPS.has(step.op)
        ? applyOperation(document, step as fastJsonPatch.Operation, true, true).newDocument
        : applyTransform(document, step as Transform);
    } catch (err) {
      throw new MigrationStepFailed(i, (err as Error).message.split('\n')[0] ?? 'failed');
    }
  });
  return stringifyJson(document, parsed.lossless || steps.lossless);
}
