/**
 * An agent in its own process, for tests that freeze it (SIGSTOP) while it holds a lock.
 * Usage: lock-holder-agent.ts <ws url> <agent> <board> <lock> <ttlMs> <mode>
 *   writer: holds the lock with withLock and writes `agent/w<seq>` with its fence every
 *           25 ms, paying no heed to the abort signal (the worst case), until a write is
 *           FENCED; then exits.
 *   idle:   takes the lock, shows presence, then does nothing at all.
 * Reports one JSON object per line on stdout: {event: acquired|wrote|fenced|lost|ready, ...}.
 */
import { WebSocket } from 'ws';
import { BlackboardClient, BlackboardError, ErrorCode, type SocketFactory } from '../../client/sdk/index.js';

const [url, agent, board, lock, ttlText, mode] = process.argv.slice(2);
if (!url || !agent || !board || !lock || !ttlText || (mode !== 'writer' && mode !== 'idle')) {
  process.stderr.write('usage: lock-holder-agent.ts <ws url> <agent> <board> <lock> <ttlMs> writer|idle\n');
  process.exit(2);
}
const ttlMs = Number(ttlText);

function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);
}

const client = new BlackboardClient({ url, agent, WebSocket: WebSocket as unknown as SocketFactory, requestTimeoutMs: 30_000 });
await client.connect();

/**
 * Takes the lock and shows presence on one connection. On a loaded machine a fast-beat server
 * may drop the connection while this process is still starting up; the lock and presence go
 * with it, so the whole set-up is simply done again on the next connection.
 */
async function holdIdle(): Promise<{ token: number; expiresAt: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const grant = await client.acquireLock(board!, lock!, { ttlMs, waitMs: 5_000 });
      await client.presence(board!, { mode: 'idle' });
      return grant;
    } catch (err) {
      if (!(err instanceof BlackboardError) || err.code !== ErrorCode.UNAVAILABLE || attempt >= 10) throw err;
    }
  }
}

if (mode === 'idle') {
  const grant = await holdIdle();
  report({ event: 'ready', token: grant.token, expiresAt: grant.expiresAt });
  setInterval(() => undefined, 60_000);
} else {
  await client.withLock(
    board,
    lock,
    async ({ fence, token, signal }) => {
      report({ event: 'acquired', token });
      signal.addEventListener('abort', () => report({ event: 'lost' }));
      for (let seq = 0; ; seq++) {
        try {
          const { rev } = await client.put(board, `agent/w${seq}`, { seq, token }, { fence });
          report({ event: 'wrote', seq, rev });
        } catch (err) {
          if (err instanceof BlackboardError && err.code === ErrorCode.FENCED) {
            report({ event: 'fenced', seq });
            return;
          }
          throw err;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    { ttlMs, waitMs: 5_000 },
  );
  client.close();
  process.exit(0);
}
