// A two-node LangGraph graph checkpointed on a board: killed mid-run, resumed by another process.
//   npx tsx examples/langgraph/two-nodes.ts demo            run, kill after the first node, resume
//   npx tsx examples/langgraph/two-nodes.ts start <thread>  run a thread (kill it whenever you like)
//   npx tsx examples/langgraph/two-nodes.ts resume <thread> continue a thread from its last checkpoint
// BLACKBOARD_URL (default ws://127.0.0.1:8080) names the server; DURABILITY=memory for a server
// without Postgres (the default, durable, acknowledges a checkpoint once Postgres holds it).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { WebSocket } from 'ws';
import { BlackboardClient } from '../../client/sdk/index.js';
import { BlackboardSaver } from '../../client/langgraph/index.js';

const url = process.env.BLACKBOARD_URL ?? 'ws://127.0.0.1:8080';
const durability = process.env.DURABILITY === 'memory' ? 'memory' : 'durable';
const board = 'langgraph-demo';
const [mode = 'demo', thread = `report-${Date.now()}`] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const State = Annotation.Root({
  topic: Annotation<string>(),
  notes: Annotation<string[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  report: Annotation<string>(),
});

async function run(kind: 'start' | 'resume'): Promise<void> {
  const client = new BlackboardClient({ url, agent: `graph-${process.pid}`, WebSocket });
  await client.connect();
  const graph = new StateGraph(State)
    .addNode('research', async (s) => {
      console.log(`[${process.pid}] research: gathering notes on ${s.topic}`);
      await sleep(500);
      return { notes: [`${s.topic} has two nodes`, `${s.topic} survives a crash`] };
    })
    .addNode('write', async (s) => {
      console.log(`[${process.pid}] write: drafting from ${s.notes.length} notes`);
      await sleep(3_000); // long enough to be killed here
      return { report: `Report on ${s.topic}: ${s.notes.join('; ')}.` };
    })
    .addEdge(START, 'research')
    .addEdge('research', 'write')
    .addEdge('write', END)
    .compile({ checkpointer: new BlackboardSaver({ client, board, durability }) });
  const config = { configurable: { thread_id: thread } };
  const result = await graph.invoke(kind === 'start' ? { topic: 'checkpoints on a board' } : null, config);
  console.log(`[${process.pid}] done: ${result.report}`);
  client.close();
}

/** Runs `start` in a child process, kills it once `research` is checkpointed, then resumes here. */
async function demo(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'start', thread], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      if (d.toString().includes('write:')) resolve();
    });
  });
  child.kill('SIGKILL');
  console.log(`[demo] killed ${child.pid} while it was writing; resuming thread ${thread} in this process`);
  await run('resume');
}

if (mode === 'demo') await demo();
else await run(mode === 'resume' ? 'resume' : 'start');
