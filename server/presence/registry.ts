import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { AgentShares, HELD_RETRY_MS, rateLimited } from '../board/agent-shares.js';
import { boardKeys } from '../board/keys.js';
import { failureError } from '../board/script-failures.js';
import { runScript } from '../board/scripts.js';
import { runBoardScript } from '../deadlines/scripts.js';
import type { DeadlineSweeper } from '../deadlines/sweeper.js';
import type { Caller } from '../extension.js';
import type { Services } from '../services.js';

/** Boards one connection may show presence on at once. */
const MAX_PRESENCE_PER_CONNECTION = 1_000;
const REFRESH_CONCURRENCY = 64;

interface PresenceEntry {
  board: string;
  since: number;
}

/**
 * `$presence/<agent>` entries and the connections they belong to. An entry goes when its
 * connection closes (heartbeat-reaped ones included), on `presence.clear`, or, when its
 * node died, once `ttlMs` passes without the node pushing its deadline back.
 */
export class PresenceRegistry {
  private readonly bySession = new Map<Caller, Map<string, PresenceEntry>>();
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly nodeJson: string;
  /** Entries each agent has through this node (MAX_PRESENCE_PER_AGENT), counted from the request that makes one. */
  private readonly agents: AgentShares;
  /** `presence.set`s under way that will make a new entry, per connection. */
  private readonly pending = new WeakMap<Caller, number>();

  constructor(
    private readonly services: Services,
    private readonly sweeper: DeadlineSweeper,
    readonly ttlMs: number,
  ) {
    this.nodeJson = JSON.stringify(services.nodeId);
    this.agents = new AgentShares('presence', 'presence entries', () => services.config.MAX_PRESENCE_PER_AGENT);
  }

  async set(session: Caller, board: string, metaText: string): Promise<{ rev: number; since: number; expiresAt: number }> {
    const isNew = !this.bySession.get(session)?.has(board);
    // A new entry counts against its connection and agent from the request on, so sets running at once cannot pass the limits together.
    if (isNew) this.reserve(session);
    let added: boolean | undefined;
    try {
      const outcome = await this.write(session, board, metaText);
      added = outcome.added;
      return outcome.result;
    } finally {
      if (isNew) this.pending.set(session, (this.pending.get(session) ?? 1) - 1);
      // Kept when this call made the entry; given back when it failed or another call made it.
      if (isNew && added !== true) this.agents.give(session.agentId);
      if (!isNew && added === true) this.agents.add(session.agentId);
    }
  }

  private reserve(session: Caller): void {
    const pending = this.pending.get(session) ?? 0;
    if ((this.bySession.get(session)?.size ?? 0) + pending >= MAX_PRESENCE_PER_CONNECTION) {
      throw rateLimited(`a connection may show presence on at most ${MAX_PRESENCE_PER_CONNECTION} boards`, 'presence', HELD_RETRY_MS, {
        limit: MAX_PRESENCE_PER_CONNECTION,
      });
    }
    this.agents.take(session.agentId);
    this.pending.set(session, pending + 1);
  }

  private async write(
    session: Caller,
    board: string,
    metaText: string,
  ): Promise<{ added: boolean; result: { rev: number; since: number; expiresAt: number } }> {
    const entries = this.bySession.get(session);
    const since = entries?.get(board)?.since ?? Date.now();
    const value = `{"agent":${session.actorJson},"meta":${metaText},"since":${since},"node":${this.nodeJson}}`;
    const written = await runBoardScript(this.services, 'presence-set-8', board, [], [session.agentId, session.actorJson, value, this.ttlMs, session.id]);
    if (!written.ok) throw failureError(written);
    const { expiresAt } = written;
    await this.sweeper.register(board, expiresAt);
    if (session.closed) {
      // The connection went while this was written: its presence goes with it.
      await this.clearOwned(session, board);
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'connection closed');
    }
    let current = this.bySession.get(session);
    if (!current) this.bySession.set(session, (current = new Map()));
    const added = !current.has(board);
    current.set(board, { board, since });
    return { added, result: { rev: written.rev, since, expiresAt } };
  }

  /** The agent's `presence.clear`: removes its entry whichever of its connections set it. */
  async clear(session: Caller, board: string): Promise<{ cleared: boolean; rev?: number }> {
    this.forget(session, board);
    const result = await runBoardScript(this.services, 'presence-clear-8', board, [], [session.agentId, session.actorJson, '']);
    return result.ok && result.cleared ? { cleared: true, rev: result.rev } : { cleared: false };
  }

  /** The connection no longer shows presence on the board: its agent's share is free again. */
  private forget(session: Caller, board: string): void {
    if (this.bySession.get(session)?.delete(board)) this.agents.give(session.agentId);
  }

  async sessionClosed(session: Caller): Promise<void> {
    const entries = this.bySession.get(session);
    this.bySession.delete(session);
    if (!entries) return;
    for (let i = 0; i < entries.size; i++) this.agents.give(session.agentId);
    await Promise.all([...entries.keys()].map((board) => this.clearOwned(session, board)));
  }

  private async clearOwned(session: Caller, board: string): Promise<void> {
    await runBoardScript(this.services, 'presence-clear-8', board, [], [session.agentId, session.actorJson, session.id]);
  }

  start(): void {
    const period = Math.max(50, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => {
      if (this.refreshing) return;
      this.refreshing = this.refresh()
        .catch((err: unknown) => this.services.log.warn({ err }, 'refreshing presence failed'))
        .finally(() => {
          this.refreshing = null;
        });
    }, period);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.refreshing;
  }

  /** Pushes back the deadline of every live connection's entries; forgets those that are gone. */
  private async refresh(): Promise<void> {
    const work: Array<[Caller, Map<string, PresenceEntry>, string]> = [];
    for (const [session, entries] of this.bySession) {
      if (session.closed) continue;
      for (const board of entries.keys()) work.push([session, entries, board]);
    }
    for (let i = 0; i < work.length; i += REFRESH_CONCURRENCY) {
      await Promise.all(
        work.slice(i, i + REFRESH_CONCURRENCY).map(async ([session, entries, board]) => {
          const keys = boardKeys(board);
          const at = await runScript(
            this.services.redis,
            'presence-refresh-2',
            [keys.deadlines, keys.presenceOwners],
            [session.agentId, session.id, this.ttlMs],
          );
          if (at === null && entries.delete(board)) this.agents.give(session.agentId);
        }),
      );
    }
  }
}
