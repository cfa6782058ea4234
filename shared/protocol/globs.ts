/**
 * Key patterns: exact keys or globs where `*` is exactly one path segment and `**` is
 * one or more segments. Like dot-files, `$` keys match only patterns starting with `$`.
 */

export type KeyMatcher = (key: string) => boolean;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function segmentSource(segment: string): string {
  if (segment === '**') return '[^/]+(?:/[^/]+)*';
  // `*` inside a segment matches any run of characters within that segment.
  return segment.split('*').map(escapeRegExp).join('[^/]*');
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

export function compilePattern(pattern: string): KeyMatcher {
  const dollarOk = pattern.startsWith('$');
  if (!isGlob(pattern)) return (key) => key === pattern;
  const source = pattern.split('/').map(segmentSource).join('/');
  const regex = new RegExp(`^${source}$`);
  return (key) => (dollarOk || !key.startsWith('$')) && regex.test(key);
}

export function compilePatterns(patterns: readonly string[]): KeyMatcher {
  const exact = new Set(patterns.filter((p) => !isGlob(p)));
  const globs = patterns.filter(isGlob).map(compilePattern);
  if (globs.length === 0) return (key) => exact.has(key);
  return (key) => exact.has(key) || globs.some((match) => match(key));
}

/** The longest literal prefix every pattern shares, to narrow a scan of the board's keys. */
export function literalPrefix(patterns: readonly string[]): string {
  const prefixes = patterns.map((p) => {
    const star = p.indexOf('*');
    return star === -1 ? p : p.slice(0, star);
  });
  let common = prefixes[0] ?? '';
  for (const p of prefixes) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  return common;
}
