import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardApi } from './board-api.js';
import { KEY_TEMPLATE, parseResourceUri, resourceUri } from './resource-uri.js';

/** Reading resources: a key (`blackboard://b/k`) or a board's index (`blackboard://b`), with `lastRev`. */

const MIME = 'application/json';
const INDEX_KEYS = 1_000;
const LISTED_BOARDS = 100;

export const resourceTemplates = [
  {
    uriTemplate: KEY_TEMPLATE,
    name: 'key',
    title: 'A key of a board',
    description:
      'One key: its JSON value, version, and lastRev (the board revision the read reflects; version 0 means the key does not exist). Keys keep their `/` (blackboard://b/tasks/42). Subscribe to be told when it changes.',
    mimeType: MIME,
  },
  {
    uriTemplate: 'blackboard://{board}',
    name: 'board',
    title: "A board's index",
    description: 'The keys of a board with their versions (no values), and lastRev. Subscribe to be told when any key changes.',
    mimeType: MIME,
  },
];

interface ResourceContents {
  uri: string;
  mimeType: string;
  text: string;
  _meta: { lastRev: number };
}

export async function listResources(api: BoardApi, defaultBoard: string | undefined) {
  const boards = defaultBoard !== undefined ? [defaultBoard] : (await api.request('boards', {})).boards.slice(0, LISTED_BOARDS).map((b) => b.board);
  return boards.map((board) => ({
    uri: resourceUri(board),
    name: board,
    title: `Board ${board}`,
    description: `The keys of board ${board}; read blackboard://${board}/<key> for one key.`,
    mimeType: MIME,
  }));
}

export async function readResource(api: BoardApi, uri: string): Promise<ResourceContents> {
  const ref = parseResourceUri(uri);
  if (!ref)
    throw new BlackboardError(
      ErrorCode.BAD_REQUEST,
      `not a Blackboard resource: ${uri.slice(0, 200)} (expected blackboard://<board> or blackboard://<board>/<key>)`,
      {},
    );
  const { board } = ref;
  if (ref.key === null) {
    const list = await api.request('list', { board, prefix: '', limit: INDEX_KEYS });
    const body = {
      board,
      lastRev: list.rev,
      keys: list.items.map((i) => ({ key: i.key, version: i.version, mod_rev: i.modRev })),
      more: list.more,
    };
    return { uri, mimeType: MIME, text: JSON.stringify(body), _meta: { lastRev: list.rev } };
  }
  const key = ref.key;
  try {
    const got = await api.request('get', { board, key });
    const body = { board, key, value: got.value, version: got.version, create_rev: got.createRev, mod_rev: got.modRev, lastRev: got.rev };
    return { uri, mimeType: MIME, text: JSON.stringify(body), _meta: { lastRev: got.rev } };
  } catch (err) {
    if (!(err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND)) throw err;
    // Absent is a state worth showing (a subscribed key may not exist yet): version 0, as in a CONFLICT's `current`.
    const list = await api.request('list', { board, prefix: key, limit: 1 });
    const body = { board, key, version: 0, lastRev: list.rev };
    return { uri, mimeType: MIME, text: JSON.stringify(body), _meta: { lastRev: list.rev } };
  }
}
