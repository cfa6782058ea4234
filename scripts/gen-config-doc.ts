/**
 * Writes docs/configuration.md from `configSchema` (server/config.ts), so the page lists
 * exactly the settings the server reads. Run: `npx tsx scripts/gen-config-doc.ts`
 * (`--check` exits 1 instead of writing when the page is out of date).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../server/config.js';

export const CONFIG_DOC_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

interface PropertySchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  pattern?: string;
}

const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no'];

const code = (v: unknown) => `\`${String(v)}\``;

function range(p: PropertySchema): string {
  const low = p.minimum ?? (p.exclusiveMinimum !== undefined ? `>${p.exclusiveMinimum}` : undefined);
  const high = p.maximum ?? (p.exclusiveMaximum !== undefined ? `<${p.exclusiveMaximum}` : undefined);
  if (low !== undefined && high !== undefined) return ` ${low}–${high}`;
  if (low !== undefined) return ` ≥ ${low}`.replace('≥ >', '>');
  if (high !== undefined) return ` ≤ ${high}`.replace('≤ <', '<');
  return '';
}

/** What a value must look like, in words. */
function accepted(p: PropertySchema): string {
  if (p.enum) {
    const values = p.enum.map(String);
    if (values.length === BOOLEAN_WORDS.length && BOOLEAN_WORDS.every((w) => values.includes(w))) {
      return 'boolean: `true`/`false`, `1`/`0`, `yes`/`no`';
    }
    return `one of ${values.map(code).join(', ')}`;
  }
  if (p.type === 'integer') return `integer${range(p)}`;
  if (p.type === 'number') return `number${range(p)}`;
  if (p.type === 'string') {
    if (p.format === 'uri') return 'URL';
    if (p.format) return `string (${p.format})`;
    const parts = ['string'];
    if (p.pattern) parts.push(`matching ${code(p.pattern)}`);
    if (p.minLength !== undefined && p.maxLength !== undefined) parts.push(`of ${p.minLength}–${p.maxLength} characters`);
    else if (p.maxLength !== undefined) parts.push(`of at most ${p.maxLength} characters`);
    else if (p.minLength !== undefined) parts.push(`of at least ${p.minLength} characters`);
    return parts.join(' ');
  }
  return p.type ?? 'any';
}

/** A readable gloss for sizes and durations, derived from the name's unit suffix. */
function gloss(name: string, value: unknown): string {
  if (typeof value !== 'number' || value <= 0) return '';
  if (name.endsWith('_BYTES')) {
    if (value % (1024 * 1024) === 0) return ` (${value / (1024 * 1024)} MiB)`;
    if (value % 1024 === 0) return ` (${value / 1024} KiB)`;
  }
  if (name.endsWith('_MS') && value % 1000 === 0) {
    return value % 60_000 === 0 ? ` (${value / 60_000} min)` : ` (${value / 1000} s)`;
  }
  return '';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The whole page, from the schema given (the server's by default). */
export function renderConfigDoc(schema: z.ZodObject = configSchema): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, PropertySchema>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  const rows = Object.entries(json.properties ?? {}).map(([name, p]) => {
    if (!p.description) throw new Error(`config field ${name} has no .describe() text`);
    const fallback = 'default' in p ? `${code(p.default)}${gloss(name, p.default)}` : required.has(name) ? '**required**' : '(unset)';
    return `| ${code(name)} | ${cell(fallback)} | ${cell(accepted(p))} | ${cell(p.description)} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from configSchema in server/config.ts by `npx tsx scripts/gen-config-doc.ts`.',
    '     Edit the schema, then regenerate; test/unit/config-doc.test.ts fails while they differ. -->',
    '',
    'The server reads its settings from environment variables once, at start, and',
    'validates them all together: an invalid value stops it with one line naming each',
    'bad variable (`blackboard: invalid configuration: PORT: ...`) and exit status 1.',
    'An empty variable counts as unset. The settings are frozen while the node runs.',
    '',
    '| Variable | Default | Accepted values | Meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function main(): void {
  const text = renderConfigDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(CONFIG_DOC_PATH, 'utf8');
    } catch {
      // a missing page is out of date
    }
    if (current !== text) {
      process.stderr.write('docs/configuration.md is out of date: run `npx tsx scripts/gen-config-doc.ts`\n');
      process.exit(1);
    }
    return;
  }
  writeFileSync(CONFIG_DOC_PATH, text);
  process.stdout.write(`wrote ${CONFIG_DOC_PATH}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
