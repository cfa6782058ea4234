import { z } from 'zod';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { BoardApi } from './board-api.js';
import type { TaskClaims } from './task-claims.js';

/** Which scope action a tool needs; `any`: every credential may call it (its results are filtered). */
export type ToolAction = 'read' | 'write' | 'lock' | 'task' | 'any';

interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** What a tool runs with: the session's connection and its default board. */
export interface ToolContext {
  api: BoardApi;
  claims: TaskClaims;
  /** The board named in the arguments, else the session's default; BAD_REQUEST when neither. */
  board(given: string | undefined): string;
  /** Aborted when the MCP client cancels the call. */
  signal: AbortSignal;
}

/** A tool with its types erased, as the MCP server lists and calls it. */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  action: ToolAction;
  annotations: ToolAnnotations;
  input: z.ZodObject;
  output: z.ZodObject;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<Record<string, unknown>>;
}

/** Defines a tool; its handler gets arguments typed by the input schema. */
export function tool<I extends z.ZodRawShape, O extends z.ZodRawShape>(spec: {
  name: string;
  title: string;
  description: string;
  action: ToolAction;
  annotations: Omit<ToolAnnotations, 'title'>;
  input: I;
  output: O;
  run(args: z.output<z.ZodObject<I, z.core.$strict>>, ctx: ToolContext): Promise<z.input<z.ZodObject<O, z.core.$strict>>>;
}): ToolDefinition {
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    action: spec.action,
    annotations: { title: spec.title, openWorldHint: false, ...spec.annotations },
    input: z.strictObject(spec.input),
    output: z.strictObject(spec.output),
    run: spec.run as ToolDefinition['run'],
  };
}

/** The structured form of a failed call: the protocol's error code, message and details. */
export const toolErrorShape = z.strictObject({
  error: z
    .strictObject({
      code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    })
    .describe('Why the call failed. `code` is one of the Blackboard error codes; `details` as the protocol gives them (e.g. CONFLICT carries `current`).'),
});

interface CallResult {
  [key: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  structuredContent: Record<string, unknown>;
  isError?: boolean;
}

export function toolResult(structured: Record<string, unknown>): CallResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** Any failure as a tool error (`isError: true`) the model can read and act on. */
export function toolError(err: unknown): CallResult {
  const known = err instanceof BlackboardError;
  const code = known ? err.code : ErrorCode.INTERNAL;
  const message = known ? err.message : 'the tool failed unexpectedly';
  const details = (known ? err.details : undefined) ?? {};
  const structured = { error: { code, message, details } };
  const detailText = Object.keys(details).length > 0 ? ` ${JSON.stringify(details)}` : '';
  return { content: [{ type: 'text', text: `${code}: ${message}${detailText}` }], structuredContent: structured, isError: true };
}

/** Invalid arguments: BAD_REQUEST naming each field that is wrong, so the model can fix its call. */
export function invalidArguments(toolName: string, error: z.ZodError): BlackboardError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return new BlackboardError(
    ErrorCode.BAD_REQUEST,
    `invalid arguments for ${toolName}: ${issues.map((i) => `${i.path || '(arguments)'}: ${i.message}`).join('; ')}`,
    { issues },
  );
}
