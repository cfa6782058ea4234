// A minimal agent: claims steps of a shared plan, works them under a compare-and-set,
// and watches what the other agents do. Run: npx tsx examples/agent.ts [agent-name]
import { WebSocket } from 'ws';
import { BlackboardClient } from '../client/sdk/index.js';

const agent = process.argv[2] ?? 'agent-1';
const bb = new BlackboardClient({ url: 'ws://127.0.0.1:8080', agent, WebSocket });
await bb.connect();

// A live replica of the plan, kept current across reconnects.
const plan = bb.watch('demo', ['plan/**'], (c) => c.type === 'event' && console.log(`${c.event.actor} → ${c.event.key}`));
await plan.ready();

// Append our claim to a shared list: concurrent appends never lose one another.
await bb.put('demo', 'plan/claims', { items: [] }, { ifVersion: 0 }).catch(() => undefined);
await bb.patch('demo', 'plan/claims', [{ op: 'add', path: '/items/-', value: agent }]);

// Count finished steps with a read-modify-write that retries on conflict.
const { value } = await bb.update<number>('demo', 'plan/done', (n) => (n ?? 0) + 1);
console.log(`${agent}: ${value} steps done; the plan holds ${plan.replica.size} keys`);
bb.close();
