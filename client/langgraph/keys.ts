import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';

/**
 * How LangGraph names become board keys (docs/langgraph.md, "Layout"). Board keys are
 * `/`-separated, with no empty segment, no control character and at most 512 characters,
 * so user-given text (thread ids, namespaces, channels, task ids, store keys) is escaped:
 *
 * - a code point up to U+0021 (controls, space, `!`) becomes `!` and one character from
 *   `0` (U+0000) to `Q` (U+0021);
 * - `.` becomes `.A` and `/` becomes `.B`; `~` becomes `~A` and DEL becomes `~B`;
 * - everything else stays as it is; a lone UTF-16 surrogate is refused (a board key
 *   cannot hold one).
 *
 * The mapping keeps order: escaped texts compare byte-wise (as the board orders keys) in
 * the code-point order of the originals, and no escaped text contains a space, so a space
 * ends a field that sorts before any continuation. Pending writes use that to come back
 * from a prefix scan in `writesSortKey` order. An empty segment (the root namespace) is `~`.
 * This file imports nothing from LangGraph: the dashboard decodes keys with it too.
 */

const MAX_BOARD_KEY_LENGTH = 512;
const EMPTY_SEGMENT = '~';
/** Pending-write idx values are stored shifted by this, zero-padded to 10 digits (so -4 < -1 < 0 < 1). */
const IDX_OFFSET = 1_000_000;
const IDX_WIDTH = 10;

function invalidKey(message: string, details: Record<string, unknown>): LangGraphBoardError {
  return new LangGraphBoardError(LangGraphErrorCode.INVALID_KEY, message, details);
}

/** Order-preserving, reversible escape of any well-formed string (see the file comment). */
export function escapeText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
        continue;
      }
      throw invalidKey('text with a lone UTF-16 surrogate cannot be part of a board key', { text });
    }
    if (unit <= 0x21) out += `!${String.fromCharCode(0x30 + unit)}`;
    else if (unit === 0x2e) out += '.A';
    else if (unit === 0x2f) out += '.B';
    else if (unit === 0x7e) out += '~A';
    else if (unit === 0x7f) out += '~B';
    else out += text[i]!;
  }
  return out;
}

export function unescapeText(escaped: string): string {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i]!;
    if (ch !== '!' && ch !== '.' && ch !== '~') {
      out += ch;
      continue;
    }
    const code = escaped[++i];
    if (code === undefined) throw new LangGraphBoardError(LangGraphErrorCode.CORRUPT, `escaped text ends inside an escape: ${escaped}`);
    if (ch === '!') out += String.fromCharCode(code.charCodeAt(0) - 0x30);
    else if (ch === '.') out += code === 'A' ? '.' : '/';
    else out += code === 'A' ? '~' : '\u007f';
  }
  return out;
}

/** One key segment for a name that may be empty (the root namespace is `~`). */
export function encodeSegment(text: string): string {
  return text === '' ? EMPTY_SEGMENT : escapeText(text);
}

export function decodeSegment(segment: string): string {
  return segment === EMPTY_SEGMENT ? '' : unescapeText(segment);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isCheckpointId(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/**
 * A checkpoint id with every hex digit replaced by 15 minus it. Ids are time-ordered
 * UUIDs, so inverted ids sort newest first, and a prefix scan of a thread starts at its
 * latest checkpoint. The mapping is its own inverse.
 */
export function invertCheckpointId(id: string): string {
  if (!isCheckpointId(id)) {
    throw new LangGraphBoardError(LangGraphErrorCode.INVALID_CHECKPOINT_ID, `checkpoint id ${JSON.stringify(id)} is not a lowercase UUID`, { id });
  }
  let out = '';
  for (const ch of id) out += ch === '-' ? '-' : (15 - parseInt(ch, 16)).toString(16);
  return out;
}

/** The key segment of one pending write: (task path, task id, idx), sorting as `writesSortKey`. */
export function writeSegment(taskPath: string, taskId: string, idx: number): string {
  if (!Number.isSafeInteger(idx) || idx < -IDX_OFFSET || idx + IDX_OFFSET >= 10 ** IDX_WIDTH) {
    throw invalidKey(`write index ${idx} is out of range`, { idx });
  }
  return `${escapeText(taskPath)} ${escapeText(taskId)} ${String(idx + IDX_OFFSET).padStart(IDX_WIDTH, '0')}`;
}

export function parseWriteSegment(segment: string): { taskPath: string; taskId: string; idx: number } | null {
  const parts = segment.split(' ');
  if (parts.length !== 3) return null;
  const idx = Number(parts[2]) - IDX_OFFSET;
  if (!Number.isSafeInteger(idx)) return null;
  return { taskPath: unescapeText(parts[0]!), taskId: unescapeText(parts[1]!), idx };
}

export function checkKey(key: string): string {
  if (key.length > MAX_BOARD_KEY_LENGTH) {
    throw invalidKey(`board key would be ${key.length} characters, over ${MAX_BOARD_KEY_LENGTH}: use shorter ids`, { key: key.slice(0, 80) });
  }
  return key;
}

/** The key root must itself be a valid key path (segments non-empty, no control characters). */
export function checkRoot(root: string): string {
  // eslint-disable-next-line no-control-regex
  if (root === '' || root.startsWith('$') || root.split('/').includes('') || /[\u0000-\u001f\u007f]/.test(root)) {
    throw invalidKey(`key prefix ${JSON.stringify(root)} is not a board key path`, { root });
  }
  return root;
}

/**
 * Every key of one (thread, namespace): `<root>/<thread>/<ns>/…`.
 * - `…/checkpoints`: the head (latest checkpoint, with its channel values);
 * - `…/checkpoints/<inverted id>`: one checkpoint (metadata, parent, channel versions);
 * - `…/checkpoints/<inverted id>/<write segment>`: its pending writes (below a write: the parts of a large one);
 * - `…/channels/<channel>/<version>`: a channel value (below it: its parts when large).
 */
export class ThreadKeys {
  readonly base: string;
  readonly head: string;

  constructor(
    root: string,
    readonly threadId: string,
    readonly checkpointNs: string,
  ) {
    this.base = `${root}/${encodeSegment(threadId)}/${encodeSegment(checkpointNs)}`;
    this.head = checkKey(`${this.base}/checkpoints`);
  }

  checkpoint(checkpointId: string): string {
    return checkKey(`${this.head}/${invertCheckpointId(checkpointId)}`);
  }

  write(checkpointId: string, taskPath: string, taskId: string, idx: number): string {
    return checkKey(`${this.checkpoint(checkpointId)}/${writeSegment(taskPath, taskId, idx)}`);
  }

  blob(channel: string, version: string | number): string {
    return checkKey(`${this.base}/channels/${encodeSegment(channel)}/${encodeSegment(String(version))}`);
  }
}

/** What a key under a thread's `checkpoints` holds, read back from its name. */
type CheckpointKeyKind =
  | { kind: 'head' }
  | { kind: 'checkpoint'; checkpointId: string }
  | { kind: 'write'; checkpointId: string; segment: string }
  | { kind: 'part'; checkpointId: string; segment: string; part: string };

/** Parses a key found by a scan of `keys.head` (the head itself or anything below it). */
export function parseCheckpointKey(keys: ThreadKeys, key: string): CheckpointKeyKind | null {
  if (key === keys.head) return { kind: 'head' };
  if (!key.startsWith(`${keys.head}/`)) return null;
  const [inverted, segment, part, ...rest] = key.slice(keys.head.length + 1).split('/');
  if (inverted === undefined || !isCheckpointId(inverted) || rest.length > 0) return null;
  const checkpointId = invertCheckpointId(inverted);
  if (segment === undefined) return { kind: 'checkpoint', checkpointId };
  if (part === undefined) return { kind: 'write', checkpointId, segment };
  return { kind: 'part', checkpointId, segment, part };
}
