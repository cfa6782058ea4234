import { Ajv2020 } from 'ajv/dist/2020.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

/** MCP clients for tests: the SDK's own Client over Streamable HTTP or over `blackboard mcp` (stdio). */

export type Transport = 'http' | 'stdio';

export interface McpClientOptions {
  board?: string;
  token?: string;
  agent?: string;
}

export interface TestMcpClient {
  client: Client;
  /** The HTTP transport (for its session id), when over HTTP. */
  http: StreamableHTTPClientTransport | null;
  /** The stdio process's stderr so far. */
  stderr(): string;
  close(): Promise<void>;
}

/** Over HTTP to `baseUrl` (http://host:port), or over stdio to the server at `wsUrl`. */
export async function mcpClient(transport: Transport, target: { baseUrl: string; wsUrl: string }, options: McpClientOptions = {}): Promise<TestMcpClient> {
  const client = new Client({ name: 'blackboard-test', version: '1.0.0' });
  let stderr = '';
  if (transport === 'http') {
    const url = new URL('/mcp', target.baseUrl);
    if (options.board) url.searchParams.set('board', options.board);
    if (options.agent) url.searchParams.set('agent', options.agent);
    const http = new StreamableHTTPClientTransport(url, options.token ? { requestInit: { headers: { authorization: `Bearer ${options.token}` } } } : {});
    await client.connect(http);
    return {
      client,
      http,
      stderr: () => stderr,
      async close() {
        await http.terminateSession().catch(() => undefined);
        await client.close();
      },
    };
  }
  const args = ['--import', 'tsx', 'client/cli/main.ts', 'mcp', '--url', target.wsUrl];
  if (options.board) args.push('--board', options.board);
  if (options.agent) args.push('--agent', options.agent);
  const stdio = new StdioClientTransport({
    command: process.execPath,
    args,
    cwd: process.cwd(),
    env: { ...(process.env as Record<string, string>), BLACKBOARD_TOKEN: options.token ?? '' },
    stderr: 'pipe',
  });
  stdio.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await client.connect(stdio);
  return { client, http: null, stderr: () => stderr, close: () => client.close() };
}

export interface ToolOutcome {
  result: CallToolResult;
  structured: Record<string, unknown>;
  /** The error code when isError, else undefined. */
  code: string | undefined;
}

export async function call(c: TestMcpClient, name: string, args: Record<string, unknown>): Promise<ToolOutcome> {
  const result = (await c.client.callTool({ name, arguments: args })) as CallToolResult;
  const structured = (result.structuredContent ?? {}) as Record<string, unknown>;
  const code = result.isError ? ((structured.error as { code?: string } | undefined)?.code ?? 'none') : undefined;
  return { result, structured, code };
}

/** A successful call's structured result; throws with the error otherwise. */
export async function ok(c: TestMcpClient, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const outcome = await call(c, name, args);
  if (outcome.result.isError) throw new Error(`${name} failed: ${JSON.stringify(outcome.result.content)}`);
  return outcome.structured;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });

/** Checks a structured result against the tool's advertised outputSchema; returns the errors ('' when valid). */
export function outputErrors(tool: Tool, structured: unknown): string {
  const validate = ajv.compile(tool.outputSchema ?? {});
  return validate(structured) ? '' : ajv.errorsText(validate.errors);
}

/** The events of an SSE response body, as they come. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      yield { ...(id === undefined ? {} : { id }), data: data.join('\n') };
    }
  }
}
