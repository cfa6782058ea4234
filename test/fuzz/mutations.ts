import fc from 'fast-check';

/**
 * Mutations of a valid frame: wrong types, extra and missing fields, huge numbers, deep
 * nesting, unicode edge cases, bad patches, odd globs, and byte-level damage to its text.
 */

export type FrameMutation =
  | { kind: 'retype'; field: number; to: unknown }
  | { kind: 'extra'; name: string; value: unknown }
  | { kind: 'drop'; field: number }
  | { kind: 'hugeNumber'; field: number; text: string }
  | { kind: 'deep'; depth: number; field: number }
  | { kind: 'unicode'; field: number; text: string }
  | { kind: 'badPatch'; patch: unknown }
  | { kind: 'oddGlob'; patterns: unknown }
  | { kind: 'bytes'; at: number; insert: string; cut: number };

const wrongType = fc.constantFrom<unknown>('1', 1, -1, 1.5, true, null, [], {}, [1], { a: 1 }, '', 'null');
const hugeNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '0.' + '0'.repeat(400) + '1',
  '-0',
  '9007199254740993',
  '1E+2',
  '1' + '0'.repeat(5_000),
);
const unicodeText = fc.constantFrom('\ud800', '\udfff', 'a\u0000b', '\u202e', '\uffff', '\u{10ffff}', 'e\u0301', '\u0007', '💥'.repeat(100), 'Ⓐ'.repeat(600));
const badPatch = fc.constantFrom<unknown>(
  [],
  [{ op: 'add' }],
  [{ op: 'add', path: 'no-slash', value: 1 }],
  [{ op: 'remove', path: '/nope/deeper' }],
  [{ op: 'replace', path: '/a', value: 1, extra: true }],
  [{ op: 'move', from: '/a', path: '/a/b' }],
  [{ op: 'test', path: '/a', value: { unlikely: true } }],
  [{ op: 'copy', from: '/missing', path: '/b' }],
  [{ op: 'add', path: '/~2', value: 1 }],
  [{ op: 'add', path: '/' + 'x/'.repeat(200), value: 1 }],
  Array.from({ length: 50 }, (_, i) => ({ op: 'add', path: `/k${i}`, value: 'x'.repeat(200) })),
  { op: 'add', path: '/a', value: 1 },
  'not a patch',
);
const oddGlob = fc.constantFrom<unknown>(
  [''],
  ['a//b'],
  ['/'],
  ['*'.repeat(40)],
  ['a/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b'],
  ['**/**/**/**'],
  ['$'],
  ['\u0000'],
  Array.from({ length: 70 }, (_, i) => `p${i}/**`),
  ['x'.repeat(600)],
  [],
  '**',
);

export const mutationArb: fc.Arbitrary<FrameMutation> = fc.oneof(
  fc.record({ kind: fc.constant('retype' as const), field: fc.nat(), to: wrongType }),
  fc.record({
    kind: fc.constant('extra' as const),
    name: fc.constantFrom('ifversion', 'extra', '__proto__', 'constructor', 'Board', 'op2', ''),
    value: wrongType,
  }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }),
  fc.record({ kind: fc.constant('hugeNumber' as const), field: fc.nat(), text: hugeNumber }),
  fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 10, max: 3_000 }), field: fc.nat() }),
  fc.record({ kind: fc.constant('unicode' as const), field: fc.nat(), text: unicodeText }),
  fc.record({ kind: fc.constant('badPatch' as const), patch: badPatch }),
  fc.record({ kind: fc.constant('oddGlob' as const), patterns: oddGlob }),
  fc.record({
    kind: fc.constant('bytes' as const),
    at: fc.nat({ max: 10_000 }),
    insert: fc.constantFrom('', '{', '}', '"', ',', ':', '\\', '\\u', '\u0000', 'é', '😀', ']'),
    cut: fc.integer({ min: 0, max: 3 }),
  }),
);

/** The frame's text after the mutations; `id` stays the first field so a reply can still be matched when it survives. */
export function applyMutations(frame: Record<string, unknown>, id: number, mutations: FrameMutation[]): string {
  const copy: Record<string, unknown> = { ...frame };
  const raw = new Map<string, string>();
  const fields = () => Object.keys(copy).filter((f) => f !== 'op');
  const pick = (n: number) => fields()[n % Math.max(1, fields().length)];
  let bytes: Extract<FrameMutation, { kind: 'bytes' }>[] = [];
  for (const m of mutations) {
    const field = 'field' in m ? pick(m.field) : undefined;
    switch (m.kind) {
      case 'retype':
        if (field) copy[field] = m.to;
        break;
      case 'extra':
        copy[m.name] = m.value;
        break;
      case 'drop':
        if (field) delete copy[field];
        break;
      case 'hugeNumber':
        if (field) raw.set(field, m.text);
        break;
      case 'deep':
        if (field) raw.set(field, '['.repeat(m.depth) + ']'.repeat(m.depth));
        break;
      case 'unicode':
        if (field) copy[field] = m.text;
        break;
      case 'badPatch':
        copy.patch = m.patch;
        break;
      case 'oddGlob':
        copy.patterns = m.patterns;
        break;
      case 'bytes':
        bytes = [...bytes, m];
        break;
    }
  }
  const parts = [`"id":${id}`];
  for (const [name, value] of Object.entries(copy)) {
    parts.push(`${JSON.stringify(name)}:${raw.get(name) ?? JSON.stringify(value) ?? 'null'}`);
  }
  for (const [name, text] of raw) if (!(name in copy)) parts.push(`${JSON.stringify(name)}:${text}`);
  let text = `{${parts.join(',')}}`;
  for (const b of bytes) {
    // Damage after the id, so the reply (if any) still names it.
    const from = Math.min(text.length, `{"id":${id},`.length);
    const at = from + (b.at % Math.max(1, text.length - from));
    text = text.slice(0, at) + b.insert + text.slice(at + b.cut);
  }
  return text;
}
