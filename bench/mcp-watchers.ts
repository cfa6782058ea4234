/**
 * MCP sessions subscribed to one resource, in a process of their own, so that receiving
 * their notifications does not slow the process that writes and times them.
 * Arguments: <http url> <board> <count> <resource uri>. Prints `ready` once every session
 * is subscribed; answers each `report` line on stdin with `{"received": n}`; ends its
 * sessions and exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [url = '', board = '', countText = '0', uri = ''] = process.argv.slice(2);
let received = 0;
const sessions: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = [];

async function open(): Promise<void> {
  const client = new Client({ name: 'bench-watcher', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`/mcp?board=${board}`, url));
  await client.connect(transport);
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => {
    received++;
  });
  await client.subscribeResource({ uri });
  sessions.push({ client, transport });
}

async function main(): Promise<void> {
  const count = Number(countText);
  for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: Math.min(10, count - i) }, open));
  process.stdout.write('ready\n');
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'report') process.stdout.write(`${JSON.stringify({ received })}\n`);
  });
  lines.on('close', () => {
    void Promise.all(sessions.map((s) => s.transport.terminateSession().catch(() => undefined))).finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`MCP watchers failed: ${(err as Error).message}\n`);
  process.exit(1);
});
