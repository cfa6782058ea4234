/**
 * Part of `npm run lint`: exports that no other file imports. Reads every TypeScript file
 * of the project (syntax only: no type check, so it takes a second), resolves relative
 * imports and re-exports, and lists each exported name of server/, shared/ and client/
 * that nothing outside its own file uses. Entry points (what packages and processes load
 * by path) count as used. Exits 1 when it finds one that `scripts/unused-exports.allow`
 * does not list: that file holds the exports that were unused when this check came in,
 * to be worked off (an entry used or gone by now is pointed out, to be removed); none may join.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SCANNED = ['server', 'shared', 'client', 'test', 'bench', 'scripts', 'examples'];
/** Folders whose exports must be used: the rest only import. */
const CHECKED = ['server/', 'shared/', 'client/'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'python']);
/** Loaded by path (package entry points, processes, configs): everything they export is used. */
const ENTRY_POINTS = new Set([
  'client/sdk/index.ts',
  'client/langgraph/index.ts',
  'client/mcp/bridge.ts',
  'client/cli/main.ts',
  'client/dashboard/src/main.ts',
  'client/dashboard/vite.config.ts',
  'server/main.ts',
  'shared/protocol/types.ts',
]);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (SKIPPED_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(ROOT, path));
  }
}

/** './x.js' from `from` to a project file, or null for packages and files outside the scan. */
function resolveImport(from: string, specifier: string, files: ReadonlySet<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = relative(ROOT, resolve(ROOT, dirname(from), specifier));
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (files.has(candidate)) return candidate;
  }
  return null;
}

interface FileInfo {
  exports: Map<string, number>;
  /** `export * from`: the files whose exports this one passes on. */
  starFrom: string[];
}

const files: string[] = [];
for (const dir of SCANNED) walk(join(ROOT, dir), files);
const known = new Set(files);
const info = new Map<string, FileInfo>();
/** file → names used from it by other files ('*': all of them). */
const used = new Map<string, Set<string>>();
const use = (file: string, name: string) => {
  let names = used.get(file);
  if (!names) used.set(file, (names = new Set()));
  names.add(name);
};

for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const entry: FileInfo = { exports: new Map(), starFrom: [] };
  info.set(file, entry);
  const line = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolveImport(file, node.moduleSpecifier.text, known);
      const clause = node.importClause;
      if (target && clause) {
        if (clause.name) use(target, 'default');
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) use(target, '*');
        else if (bindings) for (const el of bindings.elements) use(target, (el.propertyName ?? el.name).text);
      }
    } else if (ts.isExportDeclaration(node)) {
      const target = node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) ? resolveImport(file, node.moduleSpecifier.text, known) : null;
      if (!node.exportClause) {
        if (target) entry.starFrom.push(target);
      } else if (ts.isNamedExports(node.exportClause)) {
        for (const el of node.exportClause.elements) {
          entry.exports.set(el.name.text, line(el));
          if (target) use(target, (el.propertyName ?? el.name).text);
        }
      } else if (target) use(target, '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      const target = arg && ts.isStringLiteral(arg) ? resolveImport(file, arg.text, known) : null;
      if (target) use(target, '*');
    } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
      // `declare module './x.js' { interface X {...} }` adds to X: it uses it.
      const target = resolveImport(file, node.name.text, known);
      if (target && node.body && ts.isModuleBlock(node.body)) {
        for (const st of node.body.statements) if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) use(target, st.name.text);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const target = resolveImport(file, node.argument.literal.text, known);
      if (target) use(target, node.qualifier && ts.isIdentifier(node.qualifier) ? node.qualifier.text : '*');
    }
    const exported = ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (exported && node.parent === source) {
      if (ts.isVariableStatement(node)) {
        for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) entry.exports.set(d.name.text, line(d));
      } else if ('name' in node && node.name && ts.isIdentifier(node.name as ts.Node)) {
        entry.exports.set((node.name as ts.Identifier).text, line(node));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

// A name used from a file that re-exports `*` is used from the files it passes on.
let changed = true;
while (changed) {
  changed = false;
  for (const [file, entry] of info) {
    const names = used.get(file);
    if (!names) continue;
    for (const from of entry.starFrom) {
      const fromExports = info.get(from)?.exports;
      for (const name of names) {
        if (name !== '*' && !fromExports?.has(name)) continue;
        if (used.get(from)?.has(name)) continue;
        use(from, name);
        changed = true;
      }
    }
  }
}
for (const file of ENTRY_POINTS) {
  use(file, '*');
  for (const from of info.get(file)?.starFrom ?? []) use(from, '*');
}

const ALLOW_FILE = join(ROOT, 'scripts', 'unused-exports.allow');
const allowed = new Set(
  existsSync(ALLOW_FILE)
    ? readFileSync(ALLOW_FILE, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : [],
);
const unused: string[] = [];
const found = new Set<string>();
for (const [file, entry] of info) {
  if (!CHECKED.some((dir) => file.startsWith(dir)) || ENTRY_POINTS.has(file)) continue;
  const names = used.get(file);
  if (names?.has('*')) continue;
  for (const [name, line] of entry.exports) {
    if (names?.has(name)) continue;
    found.add(`${file} ${name}`);
    if (!allowed.has(`${file} ${name}`)) unused.push(`${file}:${line}: ${name}`);
  }
}
const stale = [...allowed].filter((entry) => !found.has(entry));
if (process.argv.includes('--write-allow')) {
  const header = '# Exports unused when the check came in (file name): remove the export or use it, then the line.\n';
  process.stdout.write(header + [...found].sort().join('\n') + '\n');
  process.exit(0);
}
// A line that no longer applies is only pointed out: removing or using an export must not break the lint.
if (stale.length > 0)
  process.stderr.write(`Lines of scripts/unused-exports.allow that no longer apply (remove them):\n${stale.map((u) => `  ${u}`).join('\n')}\n`);
if (unused.length > 0) {
  process.stderr.write(`Exports nothing else imports (drop the export, or the code):\n${unused.map((u) => `  ${u}`).join('\n')}\n`);
  process.exit(1);
}
process.stderr.write(`unused-exports: ${info.size} files; no new unused export (${allowed.size} listed to work off)\n`);
