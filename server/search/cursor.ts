import { badRequest } from '../../shared/protocol/errors.js';
import type { Position } from './candidates.js';

/** Where a page of results ended: the ranked position of the last row looked at, and the query's mode. */
interface SearchCursor {
  fuzzy: boolean;
  position: Position;
}

/** Opaque to clients: base64url of `[fuzzy, score, key, rev]`. */
export function encodeCursor(cursor: SearchCursor): string {
  const { fuzzy, position: p } = cursor;
  return Buffer.from(JSON.stringify([fuzzy ? 1 : 0, p.score, p.key, p.rev])).toString('base64url');
}

export function decodeCursor(text: string): SearchCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    (parsed[0] !== 0 && parsed[0] !== 1) ||
    typeof parsed[1] !== 'number' ||
    !Number.isFinite(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    !Number.isSafeInteger(parsed[3])
  ) {
    throw badRequest('after is not a cursor this server gave (use the `next` of the previous page)', { after: text.slice(0, 64) });
  }
  return { fuzzy: parsed[0] === 1, position: { score: parsed[1], key: parsed[2], rev: parsed[3] as number } };
}
