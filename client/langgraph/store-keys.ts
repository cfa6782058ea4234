import { LangGraphBoardError, LangGraphErrorCode } from './errors.js';
import { checkKey, escapeText, unescapeText } from './keys.js';

/**
 * Store layout: an item of namespace `[a, b]` with key `k` is `<root>/a/b/:k` (labels and
 * key escaped as in keys.ts). LangGraph forbids `:` in namespace labels and the escape
 * never makes one, so a segment starting with `:` is always an item, never a namespace;
 * and all items of one namespace sit together in key order, between `…/:` and `…/;`.
 */
export class StoreKeys {
  constructor(readonly root: string) {}

  /** Every key of the namespace and the namespaces below it. */
  prefix(namespace: readonly string[]): string {
    return checkKey(
      `${this.root}/${namespace
        .map(escapeText)
        .map((l) => `${l}/`)
        .join('')}`,
    );
  }

  item(namespace: readonly string[], key: string): string {
    if (namespace.length === 0) throw new LangGraphBoardError(LangGraphErrorCode.INVALID_KEY, 'a store item needs a namespace');
    return checkKey(`${this.prefix(namespace)}:${escapeText(key)}`);
  }

  /** The first key after every item of `namespace` (items of namespaces below it may follow). */
  afterItems(namespace: readonly string[]): string {
    return `${this.prefix(namespace)};`;
  }

  /** Namespace and key of an item key; null for keys that are not items. */
  parse(boardKey: string): { namespace: string[]; key: string } | null {
    if (!boardKey.startsWith(`${this.root}/`)) return null;
    const segments = boardKey.slice(this.root.length + 1).split('/');
    const last = segments.pop();
    if (last === undefined || !last.startsWith(':') || segments.length === 0 || segments.some((s) => s.startsWith(':'))) return null;
    return { namespace: segments.map(unescapeText), key: unescapeText(last.slice(1)) };
  }
}
