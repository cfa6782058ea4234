import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode as RpcError,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { ApiProvider } from './board-api.js';
import { coordinatePrompt, coordinateText } from './prompts.js';
import { ResourceFeed, type FeedState } from './resource-feed.js';
import { listResources, readResource, resourceTemplates } from './resources.js';
import { TaskClaims } from './task-claims.js';
import { invalidArguments, toolError, toolResult, type ToolAction, type ToolContext } from './tool.js';
import { toolTable } from './tools/index.js';
import { toolVisible } from './visibility.js';

/** The types BridgeOptions is made of, for those who build a bridge of their own. */
export type { ApiProvider, FeedState, ToolAction };

export const SERVER_INFO = { name: 'blackboard', version: '0.1.0' };

const INSTRUCTIONS =
  'Blackboard: a shared board (keys holding JSON values) for a team of agents, with compare-and-set, fenced locks and a task queue. Read before acting, claim work with board_update, a lock or task_claim, and see the `coordinate` prompt for the full routine.';

export interface BridgeOptions {
  /** The session's connection to Blackboard, opened on first use. */
  provider: ApiProvider;
  defaultBoard?: string | undefined;
  /** The tool actions `tools/list` shows (null: all). Calls are not limited by it: the server checks scopes. */
  visible: ReadonlySet<ToolAction> | null;
  maxResourceSubscriptions?: number;
  /** Told of every tool call: the tool, `ok` or the error code, and its duration. */
  onToolCall?(tool: string, result: string, seconds: number): void;
  /** Told after every change of the resource subscriptions, with what a resumed session needs. */
  onFeedChanged?(state: FeedState): void;
}

export interface Bridge {
  server: Server;
  feed: ResourceFeed;
  claims: TaskClaims;
  close(): Promise<void>;
}

/**
 * A JSON-RPC error reply. The SDK sends any thrown error's `code`, `message` and `data`;
 * McpError would put "MCP error <code>:" into the message, which clients add again.
 */
class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Resource and prompt failures are JSON-RPC errors: our code and details go in `data`. */
function rpcError(err: unknown): Error {
  if (err instanceof McpError || err instanceof RpcFailure) return err;
  const known = err instanceof BlackboardError;
  const code = known ? err.code : ErrorCode.INTERNAL;
  const rpc = code === ErrorCode.BAD_REQUEST ? RpcError.InvalidParams : code === ErrorCode.INTERNAL ? RpcError.InternalError : RpcError.InvalidRequest;
  return new RpcFailure(rpc, known ? `${code}: ${err.message}` : 'internal error', {
    code,
    details: (known ? err.details : undefined) ?? {},
  });
}

/**
 * One MCP server over one Blackboard connection: the tools, resources and prompt, written
 * once and used by both the stdio process and the server's Streamable HTTP endpoint.
 */
export function createBridge(options: BridgeOptions): Bridge {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, logging: {} },
    instructions: INSTRUCTIONS,
  });
  const table = toolTable(options.defaultBoard);
  const claims = new TaskClaims(options.provider);
  const feed = new ResourceFeed(
    options.provider,
    (uri, board, rev) => server.sendResourceUpdated({ uri, _meta: { board, rev } }),
    options.maxResourceSubscriptions,
  );
  const board = (given: string | undefined): string => {
    const chosen = given ?? options.defaultBoard;
    if (chosen === undefined) throw new BlackboardError(ErrorCode.BAD_REQUEST, 'board is required (this session has no default board)', { field: 'board' });
    return chosen;
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...table.listed.values()].filter((t) => toolVisible(table.byName.get(t.name)!.action, options.visible)),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const definition = table.byName.get(name);
    if (!definition) throw new RpcFailure(RpcError.InvalidParams, `Unknown tool: ${name.slice(0, 100)}`);
    const started = performance.now();
    let outcome: string = 'ok';
    try {
      const parsed = definition.input.safeParse(request.params.arguments ?? {});
      if (!parsed.success) throw invalidArguments(name, parsed.error);
      const ctx: ToolContext = { api: await options.provider(), claims, board, signal: extra.signal };
      return toolResult(await definition.run(parsed.data as Record<string, unknown>, ctx));
    } catch (err) {
      const result = toolError(err);
      outcome = (result.structuredContent.error as { code: string }).code;
      return result;
    } finally {
      options.onToolCall?.(name, outcome, (performance.now() - started) / 1000);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    try {
      return { resources: await listResources(await options.provider(), options.defaultBoard) };
    } catch (err) {
      throw rpcError(err);
    }
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
    try {
      return { contents: [await readResource(await options.provider(), request.params.uri)] };
    } catch (err) {
      throw rpcError(err);
    }
  });
  server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    try {
      await feed.subscribe(request.params.uri);
    } catch (err) {
      throw rpcError(err);
    }
    options.onFeedChanged?.(feed.state());
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    await feed.unsubscribe(request.params.uri);
    options.onFeedChanged?.(feed.state());
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [coordinatePrompt] }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    if (request.params.name !== coordinatePrompt.name) throw new RpcFailure(RpcError.InvalidParams, `Unknown prompt: ${request.params.name.slice(0, 100)}`);
    const args = request.params.arguments ?? {};
    return {
      description: coordinatePrompt.description,
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: coordinateText(args.board ?? options.defaultBoard, args.goal) } }],
    };
  });

  return {
    server,
    feed,
    claims,
    async close() {
      feed.close();
      claims.close();
      await server.close().catch(() => undefined);
    },
  };
}
