import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../../server/config.js';
import { CONFIG_DOC_PATH, renderConfigDoc } from '../../scripts/gen-config-doc.js';

describe('docs/configuration.md', () => {
  it('is what the config schema generates (run `npx tsx scripts/gen-config-doc.ts` after changing the schema)', () => {
    const onDisk = readFileSync(CONFIG_DOC_PATH, 'utf8');
    expect(onDisk, 'docs/configuration.md is out of date: run `npx tsx scripts/gen-config-doc.ts`').toBe(renderConfigDoc());
  });

  it('has one row per schema field, each with its meaning', () => {
    const onDisk = readFileSync(CONFIG_DOC_PATH, 'utf8');
    const documented = [...onDisk.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(configSchema.shape));
  });

  it('the generator refuses a field without a description, and renders every kind of field', () => {
    expect(() => renderConfigDoc(z.object({ UNEXPLAINED: z.string().default('x') }))).toThrow(/UNEXPLAINED/);
    const doc = renderConfigDoc(
      z.object({
        FLAG: z
          .enum(['true', 'false', '1', '0', 'yes', 'no'])
          .default('false')
          .transform((v) => v === 'true')
          .describe('A switch.'),
        SECRET: z.string().min(16).describe('Needed | always.'),
        WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(120_000).describe('A wait.'),
      }),
    );
    expect(doc).toContain('| `FLAG` | `false` | boolean: `true`/`false`, `1`/`0`, `yes`/`no` | A switch. |');
    expect(doc).toContain('| `SECRET` | **required** | string of at least 16 characters | Needed \\| always. |');
    expect(doc).toContain('| `WAIT_MS` | `120000` (2 min) | integer 0–60000 | A wait. |');
  });
});
