import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { JsonPatch } from '../../shared/protocol/messages/kv.js';
import type { OpContext } from '../extension.js';
import { applyPatchBounded, PatchBudget } from './patch-apply.js';

export { PatchBudget };

/** The budget of one request's patches, whose parsing of stored values counts toward its agent's byte rate. */
export function patchBudgetFor(ctx: OpContext): PatchBudget {
  return new PatchBudget(ctx.services.config.MAX_VALUE_BYTES, (bytes) => ctx.session.chargeCost(bytes));
}

/**
 * Applies an RFC 6902 patch to a stored value (JSON text) and returns the new text.
 * A malformed patch or a missing path is BAD_REQUEST; a failing `test` is CONFLICT
 * (details.reason "test"); a result past the budget's MAX_VALUE_BYTES, or more work than
 * the budget allows, is TOO_LARGE as soon as an operation crosses the line. The budget
 * is the request's: the patches of one `txn` share it.
 */
export function applyJsonPatch(valueText: string, patch: JsonPatch, losslessPatch: boolean, budget: PatchBudget): string {
  // Parsing the stored value is work of this request too.
  budget.charge(valueText.length >>> 3);
  budget.onParse(valueText.length);
  const parsed = parseJson(valueText);
  const document = applyPatchBounded(parsed.value, valueText.length, patch, budget.maxValueBytes, budget);
  return stringifyJson(document, parsed.lossless || losslessPatch);
}
