import { z } from 'zod';
import { boardArg } from '../args.js';
import { toolErrorShape, type ToolDefinition } from '../tool.js';
import { kvTools } from './kv.js';
import { lockTools } from './locks.js';
import { searchTools } from './search.js';
import { taskTools } from './tasks.js';
import { updateTool } from './update.js';

/** A tool as `tools/list` shows it, JSON Schemas included. */
interface ListedTool {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; [k: string]: unknown };
  outputSchema: { type: 'object'; [k: string]: unknown };
  annotations: ToolDefinition['annotations'];
}

interface ToolTable {
  byName: ReadonlyMap<string, ToolDefinition>;
  listed: ReadonlyMap<string, ListedTool>;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
}

function build(defaultBoard: string | undefined): ToolTable {
  const board = boardArg(defaultBoard);
  const tools = [...kvTools(board), ...searchTools(board), updateTool(board), ...lockTools(board), ...taskTools(board)];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const listed = new Map<string, ListedTool>();
  for (const t of tools) {
    // A call ends in the tool's result or in an error naming the protocol's code: the output
    // schema admits both, so a client validating every structured result accepts errors too.
    const output = jsonSchema(z.union([t.output, toolErrorShape]), 'output');
    listed.set(t.name, {
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: { ...jsonSchema(t.input, 'input'), type: 'object' },
      outputSchema: { ...output, type: 'object' },
      annotations: t.annotations,
    });
  }
  return { byName, listed };
}

const tables = new Map<string, ToolTable>();
const MAX_TABLES = 256;

/** The tools for sessions with this default board (built once per default board, a bounded cache). */
export function toolTable(defaultBoard: string | undefined): ToolTable {
  const id = defaultBoard ?? '';
  let table = tables.get(id);
  if (!table) {
    if (tables.size >= MAX_TABLES) tables.delete(tables.keys().next().value as string);
    table = build(defaultBoard);
    tables.set(id, table);
  }
  return table;
}
