import type { Item } from '@langchain/langgraph-checkpoint';

/**
 * How a store search with `query` ranks the items its prefix scan found. The board has no
 * search op yet; when it has, the store asks the server instead and this step goes away.
 */
export interface QueryMatcher {
  /** A score (higher ranks first), or undefined to leave the item out. */
  score(query: string, item: Item): number | undefined;
}

/**
 * The default: the words of the query, looked for case-insensitively in the item's value
 * (as JSON text); the score is the share of words found, and an item with none is left out.
 */
export const wordMatcher: QueryMatcher = {
  score(query, item) {
    const words = query
      .toLowerCase()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0) return 1;
    const text = JSON.stringify(item.value).toLowerCase();
    const found = words.filter((w) => text.includes(w)).length;
    return found === 0 ? undefined : found / words.length;
  },
};
