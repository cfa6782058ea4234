import fastJsonPatch from 'fast-json-patch';
import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';
import { parseJson, stringifyJson } from '../../shared/protocol/json.js';
import type { JsonPatch } from '../../shared/protocol/messages/kv.js';

const { applyPatch } = fastJsonPatch;

/**
 * Applies an RFC 6902 patch to a stored value (JSON text) and returns the new text.
 * A malformed patch or a missing path is BAD_REQUEST; a failing `test` is CONFLICT.
 */
export function applyJsonPatch(valueText: string, patch: JsonPatch, losslessPatch: boolean): string {
  const parsed = parseJson(valueText);
  let document: unknown;
  try {
    // The document was parsed for this call alone, so patching it in place is safe.
    // The patch is copied because applying it may link its values into the document.
    const operations = (losslessPatch ? parseJson(stringifyJson(patch, true)).value : structuredClone(patch)) as fastJsonPatch.Operation[];
    document = applyPatch(parsed.value, operations, true, true).newDocument;
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name === 'TEST_OPERATION_FAILED') {
      throw new BlackboardError(ErrorCode.CONFLICT, 'a patch test operation failed', { reason: 'test' });
    }
    throw badRequest(`patch cannot be applied: ${(err as Error).message.split('\n')[0]}`, {
      reason: typeof name === 'string' ? name : 'invalid',
    });
  }
  return stringifyJson(document, parsed.lossless || losslessPatch);
}
