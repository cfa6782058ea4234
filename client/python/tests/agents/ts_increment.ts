/**
 * N TypeScript SDK clients that each increment one key `count` times with `update`
 * (compare-and-set), for the mixed-language contention test. Prints {"event":"ready"} once
 * every client is connected, starts when a line arrives on stdin, then prints
 * {"event":"done","updates":n}.
 *   ts_increment.ts <ws url> <board> <key> <clients> <count>
 */
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../../../sdk/index.js';

const [url, board, key, clientsText, countText] = process.argv.slice(2);
if (!url || !board || !key || !clientsText || !countText) {
  process.stderr.write('usage: ts_increment.ts <ws url> <board> <key> <clients> <count>\n');
  process.exit(2);
}
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

const clients = Array.from(
  { length: Number(clientsText) },
  (_, i) => new BlackboardClient({ url, agent: `ts-${i}`, WebSocket, requestTimeoutMs: 60_000 }),
);
await Promise.all(clients.map((c) => c.connect()));
say({ event: 'ready' });
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
let updates = 0;
await Promise.all(
  clients.map(async (client) => {
    for (let i = 0; i < Number(countText); i++) {
      await client.update<number>(board, key, (n) => (n ?? 0) + 1);
      updates++;
    }
  }),
);
say({ event: 'done', updates });
for (const c of clients) c.close();
process.exit(0);
