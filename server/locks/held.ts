import type { Caller } from '../extension.js';
import { AgentShares, HELD_RETRY_MS, rateLimited } from '../board/agent-shares.js';
import type { HeldLock } from './manager.js';

/** Locks one connection may hold at once; more is a leak, refused rather than grown. */
const MAX_LOCKS_PER_CONNECTION = 1_000;

/**
 * The locks each connection holds: they die with it (PROTOCOL.md, "Locks and fencing").
 * A lock counts against its connection and its agent from the moment it is asked for
 * (`reserve`) until it is released or its connection closes, so acquisitions running at
 * once cannot pass the limits together.
 */
export class HeldLocks {
  private readonly bySession = new WeakMap<Caller, Map<string, HeldLock>>();
  private readonly pending = new WeakMap<Caller, number>();
  private readonly agents: AgentShares;

  constructor(maxPerAgent: () => number) {
    this.agents = new AgentShares('locks', 'locks', maxPerAgent);
  }

  private static id(board: string, name: string): string {
    return `${board}\n${name}`;
  }

  /** Counts one lock being acquired; RATE_LIMITED past the connection's or the agent's limit. */
  reserve(session: Caller): void {
    const pending = this.pending.get(session) ?? 0;
    if ((this.bySession.get(session)?.size ?? 0) + pending >= MAX_LOCKS_PER_CONNECTION) {
      throw rateLimited(`a connection may hold at most ${MAX_LOCKS_PER_CONNECTION} locks`, 'locks', HELD_RETRY_MS, {
        limit: MAX_LOCKS_PER_CONNECTION,
      });
    }
    this.agents.take(session.agentId);
    this.pending.set(session, pending + 1);
  }

  /** The acquisition that reserved failed: its place is free again. */
  unreserve(session: Caller): void {
    this.pending.set(session, Math.max(0, (this.pending.get(session) ?? 1) - 1));
    this.agents.give(session.agentId);
  }

  /** The acquisition that reserved succeeded. */
  add(session: Caller, lock: HeldLock): void {
    this.pending.set(session, Math.max(0, (this.pending.get(session) ?? 1) - 1));
    let held = this.bySession.get(session);
    if (!held) this.bySession.set(session, (held = new Map()));
    held.set(HeldLocks.id(lock.board, lock.name), lock);
  }

  /** The lock this connection holds under that name with that token, if any. */
  find(session: Caller, board: string, name: string, token: number): HeldLock | undefined {
    const lock = this.bySession.get(session)?.get(HeldLocks.id(board, name));
    return lock?.token === token ? lock : undefined;
  }

  remove(session: Caller, lock: HeldLock): void {
    const held = this.bySession.get(session);
    const id = HeldLocks.id(lock.board, lock.name);
    if (held?.get(id) !== lock) return;
    held.delete(id);
    this.agents.give(session.agentId);
  }

  /** Every lock of the connection, forgotten here; the caller releases them. */
  takeAll(session: Caller): HeldLock[] {
    const held = this.bySession.get(session);
    this.bySession.delete(session);
    const locks = held ? [...held.values()] : [];
    for (let i = 0; i < locks.length; i++) this.agents.give(session.agentId);
    return locks;
  }
}
