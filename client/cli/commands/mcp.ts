import { BOARD_PATTERN } from '../../../shared/protocol/messages/common.js';
import { BlackboardError, ErrorCode } from '../../../shared/protocol/errors.js';
import type { BoardApi } from '../../mcp/board-api.js';
import { scopesOfToken, visibleActions } from '../../mcp/visibility.js';
import { BlackboardClient } from '../../sdk/client.js';
import { noMorePositionals, stringFlag } from '../args.js';
import type { Command } from '../command.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { refusalReportingSocket } from '../socket.js';

/** Long enough for the longest wait a tool may ask for (lock_acquire's and task_claim's 60 s). */
const MCP_REQUEST_TIMEOUT_MS = 75_000;

export const mcpCommand: Command = {
  name: 'mcp',
  usage: 'mcp [--board B]',
  summary: 'Run an MCP server on stdin/stdout for an LLM host, speaking to the Blackboard server at --url.',
  details: [
    'For hosts that launch local MCP servers (desktop apps, IDEs): the board as MCP tools',
    '(board_get, board_update, lock_acquire, task_claim, ...), resources (blackboard://<board>/<key>,',
    'with update notifications) and the `coordinate` prompt. Every call is a protocol op over one',
    "WebSocket connection, with that connection's credential (--token or $BLACKBOARD_TOKEN).",
    '--board sets the default board, so tools may leave `board` out. With a token, tools its scopes',
    'cannot use are not listed (the server refuses them anyway). Logs go to stderr. See docs/mcp.md.',
  ],
  options: { board: { type: 'string' } },
  async run(ctx, line) {
    noMorePositionals(line, 0);
    const board = stringFlag(line, 'board');
    if (board !== undefined && !BOARD_PATTERN.test(board)) throw new UsageError('--board must match [a-z0-9][a-z0-9_-]{0,63}');
    const { flags } = ctx;
    let refusal: BlackboardError | null = null;
    let refused: ((err: BlackboardError) => void) | null = null;
    const client = new BlackboardClient({
      url: flags.url,
      ...(flags.agent ? { agent: flags.agent } : {}),
      ...(flags.token ? { token: flags.token } : {}),
      WebSocket: refusalReportingSocket((r) => {
        refusal = new BlackboardError(
          r.status === 401 ? ErrorCode.UNAUTHORIZED : ErrorCode.UNAVAILABLE,
          `the server refused the connection (HTTP ${r.status}): ${r.message}`,
        );
        refused?.(refusal);
      }),
      reconnect: { baseMs: 100, capMs: 2_000 },
      requestTimeoutMs: MCP_REQUEST_TIMEOUT_MS,
    });
    let connecting: Promise<BoardApi> | null = null;
    // Connects on first use, bounded by --timeout; a later call tries again.
    const provider = () =>
      (connecting ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          await Promise.race([
            client.connect(),
            new Promise<never>((_, reject) => {
              refused = reject;
              timer = setTimeout(
                () => reject(refusal ?? new BlackboardError(ErrorCode.UNAVAILABLE, `could not connect to ${flags.url} within ${flags.timeoutMs} ms`)),
                flags.timeoutMs,
              );
            }),
          ]);
          return client as BoardApi;
        } catch (err) {
          connecting = null;
          throw err;
        } finally {
          refused = null;
          clearTimeout(timer);
        }
      })());
    // Loaded here: the MCP SDK is not needed by the other commands.
    const { createBridge } = await import('../../mcp/bridge.js');
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const bridge = createBridge({ provider, defaultBoard: board, visible: visibleActions(scopesOfToken(flags.token)) });
    const transport = new StdioServerTransport();
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      transport.onclose = stop;
      process.stdin.once('end', stop);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void bridge.server.connect(transport);
      // Open the connection now, so the first tool call does not wait for it.
      void provider().catch((err: unknown) => ctx.out.note(`blackboard mcp: ${(err as Error).message}`));
    });
    await bridge.close();
    client.close();
    return ExitCode.OK;
  },
};
