/** One line of the key tree: a folder (a shared `a/b/` prefix) or a key. */
export type TreeRow =
  | { folder: true; path: string; name: string; depth: number; size: number; collapsed: boolean }
  | { folder: false; key: string; name: string; depth: number };

interface OpenFolder {
  segment: string;
  row: Extract<TreeRow, { folder: true }>;
}

/**
 * Turns sorted keys into tree rows. Keys that share a prefix are contiguous in sorted
 * order, so one pass with a stack of open folders builds the tree: O(keys × depth).
 * Children of a collapsed folder are counted but not emitted.
 */
export function treeRows(keys: readonly string[], collapsed: ReadonlySet<string>, filter: string): TreeRow[] {
  const rows: TreeRow[] = [];
  const open: OpenFolder[] = [];
  const needle = filter.toLowerCase();
  for (const key of keys) {
    if (needle !== '' && !key.toLowerCase().includes(needle)) continue;
    const segments = key.split('/');
    const dirs = segments.length - 1;
    let common = 0;
    while (common < open.length && common < dirs && open[common]!.segment === segments[common]) common++;
    open.length = common;
    for (let depth = common; depth < dirs; depth++) {
      const path = `${segments.slice(0, depth + 1).join('/')}/`;
      const row = { folder: true as const, path, name: segments[depth]!, depth, size: 0, collapsed: collapsed.has(path) };
      if (!open.some((f) => f.row.collapsed)) rows.push(row);
      open.push({ segment: segments[depth]!, row });
    }
    for (const folder of open) folder.row.size++;
    if (!open.some((f) => f.row.collapsed)) rows.push({ folder: false, key, name: segments[dirs]!, depth: dirs });
  }
  return rows;
}
