import { BOARD_PATTERN, MAX_KEY_LENGTH } from '../../shared/protocol/messages/common.js';

/**
 * Resource addresses: `blackboard://<board>` is a board's index, `blackboard://<board>/<key>`
 * one key. A key keeps its `/` separators (`blackboard://b/tasks/42`); any character may also
 * be percent-encoded (`blackboard://b/tasks%2F42` is the same key), so hosts that expand the
 * template `{key}` strictly reach the same resource. Parsed by hand rather than with URL,
 * which would resolve `.` and `..` segments and so change the key.
 */
const SCHEME = 'blackboard://';
export const KEY_TEMPLATE = 'blackboard://{board}/{key}';

type ResourceRef = { board: string; key: null } | { board: string; key: string };

/** null: not a blackboard:// address, or one that names no valid board or key. */
export function parseResourceUri(uri: string): ResourceRef | null {
  if (!uri.startsWith(SCHEME)) return null;
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const board = slash === -1 ? rest : rest.slice(0, slash);
  if (!BOARD_PATTERN.test(board)) return null;
  if (slash === -1 || slash === rest.length - 1) return { board, key: null };
  let key: string;
  try {
    key = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  if (key.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f]/.test(key) || key.split('/').includes('')) return null;
  return { board, key };
}

/** The canonical address: `/` kept, other reserved characters encoded. */
export function resourceUri(board: string, key: string | null = null): string {
  if (key === null) return `${SCHEME}${board}`;
  return `${SCHEME}${board}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
