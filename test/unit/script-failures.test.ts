import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCRIPT_FAILURES, decodeFailure, failureName, isFailure } from '../../server/board/script-failures.js';

const ROOT = resolve(import.meta.dirname, '../..');

function luaFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) luaFiles(path, out);
    else if (name.endsWith('.lua') && dir.endsWith('scripts')) out.push(path);
  }
  return out;
}

/** The file's header comment (`--[[ ... ]]` or the leading `--` lines) and its code without comments. */
function split(lua: string): { header: string; code: string } {
  const block = /^--\[\[([\s\S]*?)\]\]/.exec(lua);
  const header = block ? block[1]! : (/^(?:--.*\n)+/.exec(lua)?.[0] ?? '');
  const body = block ? lua.slice(block[0].length) : lua;
  const code = body
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
  return { header, code };
}

/** Negative status codes a script's code returns: `{-N` (a reply table) or `done(-N` (deadline-lib's replies). */
function codesIn(code: string): Set<number> {
  const codes = new Set<number>();
  for (const m of code.matchAll(/(?:\{|done\()\s*(-\d+)/g)) codes.add(Number(m[1]));
  return codes;
}

/** Negative numbers a doc comment names (as `{-N}` or in prose: "status -8 ..."). */
function codesNamed(header: string): Set<number> {
  const codes = new Set<number>();
  for (const m of header.matchAll(/(?<![\w\].-])(-[1-9]\d*)/g)) codes.add(Number(m[1]));
  return codes;
}

const files = luaFiles(join(ROOT, 'server'));
const tableCodes = new Set<number>(Object.values(SCRIPT_FAILURES).map((f) => f.code));

describe('script failure codes', () => {
  it('give every code one meaning, negative and distinct', () => {
    const codes = Object.values(SCRIPT_FAILURES).map((f) => f.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toBeLessThan(0);
    for (const [name, f] of Object.entries(SCRIPT_FAILURES)) expect(failureName(f.code)).toBe(name);
    expect(failureName(-99)).toBeUndefined();
    expect(failureName(1)).toBeUndefined();
  });

  it('cover every negative code a Lua script returns, and each is in its doc comment', () => {
    expect(files.length).toBeGreaterThan(20);
    const used = new Set<number>();
    for (const path of files) {
      const { header, code } = split(readFileSync(path, 'utf8'));
      const file = relative(ROOT, path);
      for (const c of codesIn(code)) {
        used.add(c);
        expect(tableCodes.has(c), `${file} returns ${c}, which script-failures.ts does not declare`).toBe(true);
        expect(codesNamed(header).has(c), `${file} returns ${c} but its doc comment does not say so`).toBe(true);
      }
      for (const c of codesNamed(header)) expect(tableCodes.has(c), `${file} documents ${c}, which script-failures.ts does not declare`).toBe(true);
    }
    // Every code of the table is returned by some script.
    for (const c of tableCodes) expect(used.has(c), `no script returns ${c}`).toBe(true);
  });

  it('decode failures with what the reply carries, and plain ones without allocating', () => {
    const compare = decodeFailure([-1, 'a', 2, 3, '3:1:5:{}']);
    expect(compare).toMatchObject({ ok: false, failure: 'compareFailed', failed: [{ key: 'a', expected: 2, actual: 3 }] });
    expect(decodeFailure([-3, 'k'])).toEqual({ ok: false, failure: 'missingKey', key: 'k' });
    expect(decodeFailure([-11, 4])).toEqual({ ok: false, failure: 'tooManyLosses', losses: 4 });
    expect(decodeFailure(['x', -8, 0], 1)).toEqual({ ok: false, failure: 'noJob' });
    const noMeta = decodeFailure([-4, 0]);
    expect(decodeFailure([-4, 7])).toBe(noMeta);
    expect(isFailure(noMeta, 'noMeta')).toBe(true);
    expect(isFailure(noMeta, 'fenced')).toBe(false);
    expect(() => decodeFailure([-99])).toThrow(/unknown status/);
  });
});
