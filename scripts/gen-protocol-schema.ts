/**
 * Writes docs/protocol.schema.json, the JSON Schema of the wire protocol, from the zod
 * schemas in shared/protocol/messages (the ones the server validates with and the SDK
 * types come from), so that clients in other languages are written against exactly what
 * the server does. Run: `npm run protocol-schema` (`--check` exits 1 instead of writing
 * when the file is out of date; test/unit/protocol-schema.test.ts fails while it is).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { jsonPatchOperation } from '../shared/protocol/messages/kv.js';
import { errorBody, errorDetails, replyError, replyOk } from '../shared/protocol/messages/envelope.js';
import { requestSchemas, resultSchemas } from '../shared/protocol/messages/index.js';
import { pushSchemas } from '../shared/protocol/messages/pushes.js';
import { boardEvent, keyRecord } from '../shared/protocol/messages/records.js';

export const PROTOCOL_SCHEMA_PATH = fileURLToPath(new URL('../docs/protocol.schema.json', import.meta.url));

type JsonObject = Record<string, unknown>;

/** Definitions in the order the file lists them, by name (see the layout in docs/protocol.md). */
function definitions(): Array<[string, z.ZodType]> {
  const requests = Object.values(requestSchemas) as z.ZodType[];
  const pushes = Object.values(pushSchemas) as z.ZodType[];
  return [
    ['request', z.union(requests)],
    ['reply', z.union([replyOk, replyError])],
    ['push', z.union(pushes)],
    ...Object.entries(requestSchemas).map(([op, schema]): [string, z.ZodType] => [`request.${op}`, schema]),
    ['reply.ok', replyOk],
    ['reply.error', replyError],
    ['error', errorBody],
    ['errorDetails', errorDetails],
    ...Object.entries(resultSchemas).map(([op, schema]): [string, z.ZodType] => [`result.${op}`, schema]),
    ...Object.entries(pushSchemas).map(([name, schema]): [string, z.ZodType] => [`push.${name}`, schema]),
    ['keyRecord', keyRecord],
    ['event', boardEvent],
    ['jsonPatchOperation', jsonPatchOperation],
  ];
}

/** The whole document, from the schemas given (the protocol's by default). */
export function renderProtocolSchema(): string {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of definitions()) registry.add(schema, { id });
  // Input side: strict objects (requests) close their properties, open ones (results, pushes) do not.
  const generated = z.toJSONSchema(registry, { io: 'input', uri: (id) => `#/$defs/${id}` }).schemas as Record<string, JsonObject>;
  const defs: Record<string, JsonObject> = {};
  for (const [id] of definitions()) {
    const { $schema: _schema, $id: _id, ...body } = generated[id]!;
    defs[id] = body;
  }
  const document = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Blackboard wire protocol v1',
    description:
      'Every frame of the WebSocket protocol: requests (client to server), replies and pushes (server to client). ' +
      'Generated from shared/protocol/messages by `npm run protocol-schema`; docs/protocol.md describes the layout.',
    anyOf: [{ $ref: '#/$defs/request' }, { $ref: '#/$defs/reply' }, { $ref: '#/$defs/push' }],
    $defs: defs,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function main(): void {
  const text = renderProtocolSchema();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8');
    } catch {
      // a missing file is out of date
    }
    if (current !== text) {
      process.stderr.write('docs/protocol.schema.json is out of date: run `npm run protocol-schema`\n');
      process.exit(1);
    }
    return;
  }
  writeFileSync(PROTOCOL_SCHEMA_PATH, text);
  process.stdout.write(`wrote ${PROTOCOL_SCHEMA_PATH}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
