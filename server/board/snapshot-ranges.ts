/**
 * The key ranges a subscription snapshot reads: each pattern's literal head, narrowed to
 * the prefixes its reader may read. A reader of `x/` subscribing to `**` reads `x/`, not
 * the board; an exact key is read alone. Pure, no I/O.
 */

export type KeyRange = { kind: 'exact'; key: string } | { kind: 'prefix'; prefix: string };

/** Byte order of UTF-8, the order Redis sorts keys in (UTF-16 order differs past U+FFFF). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function head(range: KeyRange): string {
  return range.kind === 'exact' ? range.key : range.prefix;
}

/**
 * Disjoint ranges in byte order, covering every key that one of `patterns` may match
 * and that `readable` allows (null: every key).
 */
export function snapshotRanges(patterns: readonly string[], readable: readonly string[] | null): KeyRange[] {
  const allowed = readable ?? [''];
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const pattern of patterns) {
    const star = pattern.indexOf('*');
    if (star === -1) {
      if (allowed.some((p) => pattern.startsWith(p))) exact.add(pattern);
      continue;
    }
    const literal = pattern.slice(0, star);
    for (const p of allowed) {
      if (literal.startsWith(p)) prefixes.add(literal);
      else if (p.startsWith(literal)) prefixes.add(p);
    }
  }
  // A prefix inside another is read with it; so is an exact key under a prefix.
  const kept = [...prefixes].filter((q) => ![...prefixes].some((p) => p !== q && q.startsWith(p)));
  const ranges: KeyRange[] = kept.map((prefix) => ({ kind: 'prefix', prefix }));
  for (const key of exact) if (!kept.some((p) => key.startsWith(p))) ranges.push({ kind: 'exact', key });
  // Disjoint ranges sorted by their heads are in key order as a whole.
  return ranges.sort((a, b) => compareBytes(head(a), head(b)));
}

/** Whether `key` lies in `range`. */
export function inRange(range: KeyRange, key: string): boolean {
  return range.kind === 'exact' ? key === range.key : key.startsWith(range.prefix);
}
