import { BlackboardError, ErrorCode, type BlackboardClient, type KeyRecord } from '../sdk/index.js';

/**
 * Keys per `list` request. A value may be as large as MAX_VALUE_BYTES (256 KiB), and a
 * connection is closed (4008) once 8 MiB of replies wait unsent, so a page is bounded to
 * 4 MiB at worst. (Servers that cut replies at MAX_REPLY_BYTES make larger pages safe.)
 */
export const SCAN_PAGE = 16;
/** Gets in flight at once when reading many single keys (4 MiB of values at worst). */
const GET_CONCURRENCY = 16;

/**
 * Every key under `prefix`, in byte order, page by page (`after`/`limit`, following `more`).
 * Starts after `after` when given. Stops when the caller stops iterating.
 */
export async function* scan(
  client: BlackboardClient,
  board: string,
  prefix: string,
  options: { after?: string; pageSize?: number } = {},
): AsyncGenerator<KeyRecord> {
  let after = options.after;
  for (;;) {
    const page = await client.list(board, prefix, { limit: options.pageSize ?? SCAN_PAGE, ...(after !== undefined ? { after } : {}) });
    for (const item of page.items) yield item;
    const last = page.items[page.items.length - 1];
    if (!page.more || !last) return;
    after = last.key;
  }
}

/** All keys under `prefix` (bounded by what the caller's prefix holds). */
export async function collect(
  client: BlackboardClient,
  board: string,
  prefix: string,
  options: { after?: string; pageSize?: number } = {},
): Promise<KeyRecord[]> {
  const out: KeyRecord[] = [];
  for await (const item of scan(client, board, prefix, options)) out.push(item);
  return out;
}

/** Sorts after every key that continues with any other character (U+10FFFF is the last code point). */
const LAST_CHAR = '\u{10FFFF}';

/**
 * The distinct first segments below `prefix` (which ends with `/`), one `list` of one key
 * per segment: after finding `<prefix><segment>/…` the scan jumps past the keys of that
 * segment. (A key continuing with U+10FFFF itself is stepped over one by one.)
 */
export async function* childSegments(client: BlackboardClient, board: string, prefix: string): AsyncGenerator<string> {
  let after: string | undefined;
  let previous: string | undefined;
  for (;;) {
    const page = await client.list(board, prefix, { limit: 1, ...(after !== undefined ? { after } : {}) });
    const first = page.items[0];
    if (!first) return;
    const rest = first.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    const segment = slash === -1 ? rest : rest.slice(0, slash);
    if (segment !== previous) yield segment;
    previous = segment;
    const jump = `${prefix}${segment}/${LAST_CHAR}`;
    // Found a key of this segment past the jump: step over it by its own key, always forward.
    after = first.key > jump ? first.key : jump;
  }
}

/** A key's record, or undefined when it does not exist. */
export async function getOptional(client: BlackboardClient, board: string, key: string): Promise<KeyRecord | undefined> {
  try {
    const got = await client.get(board, key);
    return { key, value: got.value, version: got.version, createRev: got.createRev, modRev: got.modRev };
  } catch (err) {
    if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) return undefined;
    throw err;
  }
}

/** Many single keys, at most GET_CONCURRENCY requests in flight; absent keys map to undefined. */
export async function getMany(client: BlackboardClient, board: string, keys: readonly string[]): Promise<Map<string, KeyRecord | undefined>> {
  const unique = [...new Set(keys)];
  const out = new Map<string, KeyRecord | undefined>();
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const key = unique[next++]!;
      out.set(key, await getOptional(client, board, key));
    }
  };
  await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, unique.length) }, worker));
  return out;
}
