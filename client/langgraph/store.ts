import {
  BaseStore,
  validateNamespace,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from '@langchain/langgraph-checkpoint';
import type { BlackboardClient, KeyRecord } from '../sdk/index.js';
import { checkRoot } from './keys.js';
import { deleteKeys } from './retention.js';
import { getMany, scan } from './scan.js';
import { StoreKeys } from './store-keys.js';
import { checkFilter, matchesFilter } from './store-filter.js';
import { wordMatcher, type QueryMatcher } from './store-query.js';
import { batchOps, putOp } from './txn-batches.js';
import { commitTxn } from './commit.js';

export interface BlackboardStoreOptions {
  client: BlackboardClient;
  board: string;
  /** First segment(s) of every key the store writes (default `lgstore`). */
  keyPrefix?: string;
  durability?: 'memory' | 'durable';
  /** Ranks items for a search with `query` (default: word matching over the value). */
  queryMatcher?: QueryMatcher;
}

/** An item as the board holds it at `<root>/<namespace…>/:<key>`. */
interface StoredItem {
  namespace: string[];
  key: string;
  value: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

function toItem(value: unknown): Item | null {
  if (typeof value !== 'object' || value === null) return null;
  const stored = value as StoredItem;
  if (!Array.isArray(stored.namespace) || typeof stored.key !== 'string') return null;
  return { namespace: stored.namespace, key: stored.key, value: stored.value, createdAt: new Date(stored.createdAt), updatedAt: new Date(stored.updatedAt) };
}

function matches(condition: MatchCondition, namespace: readonly string[]): boolean {
  const { path } = condition;
  if (path.length > namespace.length) return false;
  const start = condition.matchType === 'prefix' ? 0 : namespace.length - path.length;
  return path.every((label, i) => label === '*' || label === namespace[start + i]);
}

/**
 * A LangGraph store on a board (docs/langgraph.md, "Store"). Namespaces are key prefixes;
 * `search` scans the namespace prefix and filters (`$eq`, `$ne`, `$gt`, `$gte`, `$lt`,
 * `$lte`, `$in`, `$nin`); `query` ranks the scanned items with a `QueryMatcher` until the
 * board offers a search op. Reads in a batch see the state before the batch's puts.
 */
export class BlackboardStore extends BaseStore {
  private readonly client: BlackboardClient;
  private readonly board: string;
  private readonly keys: StoreKeys;
  private readonly durability: 'memory' | 'durable';
  private readonly queryMatcher: QueryMatcher;

  constructor(options: BlackboardStoreOptions) {
    super();
    this.client = options.client;
    this.board = options.board;
    this.keys = new StoreKeys(checkRoot(options.keyPrefix ?? 'lgstore'));
    this.durability = options.durability ?? 'memory';
    this.queryMatcher = options.queryMatcher ?? wordMatcher;
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    // Check everything first: a bad operation fails the batch before it reads or writes anything.
    for (const op of operations) {
      if ('namespace' in op) validateNamespace(op.namespace, { allowReservedRoot: true });
      if ('namespacePrefix' in op) {
        if (op.namespacePrefix.length > 0) validateNamespace(op.namespacePrefix, { allowReservedRoot: true });
        checkFilter(op.filter);
      }
    }
    const puts = new Map<string, PutOperation>();
    const reads = operations.map((op): Promise<unknown> => {
      if ('value' in op) {
        puts.set(this.keys.item(op.namespace, op.key), op);
        return Promise.resolve(undefined);
      }
      if ('namespacePrefix' in op) return this.search_(op);
      if ('key' in op) return this.get_(op);
      return this.listNamespaces_(op);
    });
    const results = await Promise.all(reads);
    if (puts.size > 0) await this.applyPuts(puts);
    return results as OperationResults<Op>;
  }

  private async get_(op: GetOperation): Promise<Item | null> {
    const found = await getMany(this.client, this.board, [this.keys.item(op.namespace, op.key)]);
    const record = [...found.values()][0];
    return record ? toItem(record.value) : null;
  }

  private async applyPuts(puts: Map<string, PutOperation>): Promise<void> {
    const existing = await getMany(this.client, this.board, [...puts.keys()]);
    const now = new Date().toISOString();
    const writes = [];
    const deletes: string[] = [];
    for (const [boardKey, op] of puts) {
      const previous = existing.get(boardKey);
      if (op.value === null) {
        if (previous) deletes.push(boardKey);
        continue;
      }
      const createdAt = previous ? (toItem(previous.value)?.createdAt.toISOString() ?? now) : now;
      const stored: StoredItem = { namespace: op.namespace, key: op.key, value: op.value, createdAt, updatedAt: now };
      writes.push(putOp(boardKey, stored, Buffer.byteLength(JSON.stringify(stored))));
    }
    for (const batch of batchOps(writes)) await commitTxn(this.client, this.board, { compare: [], ops: batch.map((o) => o.op), durability: this.durability });
    if (deletes.length > 0) await deleteKeys(this.client, this.board, deletes, this.durability);
  }

  private async search_(op: SearchOperation): Promise<SearchItem[]> {
    const candidates: SearchItem[] = [];
    for await (const record of scan(this.client, this.board, this.keys.prefix(op.namespacePrefix))) {
      if (!this.keys.parse(record.key)) continue;
      const item = toItem(record.value);
      if (!item || !matchesFilter(item.value, op.filter)) continue;
      if (op.query === undefined) candidates.push(item);
      else {
        const score = this.queryMatcher.score(op.query, item);
        if (score !== undefined) candidates.push({ ...item, score });
      }
    }
    if (op.query !== undefined) candidates.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
    const offset = op.offset ?? 0;
    return candidates.slice(offset, offset + (op.limit ?? 10));
  }

  /** Namespaces holding items: one `list` of one key per namespace, jumping past its items. */
  private async listNamespaces_(op: ListNamespacesOperation): Promise<string[][]> {
    const conditions = op.matchConditions ?? [];
    const fixed = conditions.find((c) => c.matchType === 'prefix' && !c.path.includes('*'));
    const prefix = this.keys.prefix(fixed ? (fixed.path as string[]) : []);
    const found = new Map<string, string[]>();
    let after: string | undefined;
    for (;;) {
      const page = await this.client.list(this.board, prefix, { limit: 1, ...(after !== undefined ? { after } : {}) });
      const first: KeyRecord | undefined = page.items[0];
      if (!first) break;
      const parsed = this.keys.parse(first.key);
      if (!parsed) {
        after = first.key;
        continue;
      }
      after = this.keys.afterItems(parsed.namespace);
      if (!conditions.every((c) => matches(c, parsed.namespace))) continue;
      const namespace = op.maxDepth !== undefined ? parsed.namespace.slice(0, op.maxDepth) : parsed.namespace;
      found.set(JSON.stringify(namespace), namespace);
    }
    const namespaces = [...found.values()].sort((a, b) => a.join(':').localeCompare(b.join(':')));
    return namespaces.slice(op.offset ?? 0, (op.offset ?? 0) + (op.limit ?? namespaces.length));
  }
}
