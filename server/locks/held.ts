import { badRequest } from '../../shared/protocol/errors.js';
import type { Session } from '../gateway/session.js';
import type { HeldLock } from './manager.js';

/** Locks one connection may hold at once; more is a leak, refused rather than grown. */
export const MAX_LOCKS_PER_CONNECTION = 1_000;

/** The locks each connection holds: they die with it (PROTOCOL.md, "Locks and fencing"). */
export class HeldLocks {
  private readonly bySession = new WeakMap<Session, Map<string, HeldLock>>();

  private static id(board: string, name: string): string {
    return `${board}\n${name}`;
  }

  checkRoom(session: Session): void {
    const held = this.bySession.get(session);
    if (held && held.size >= MAX_LOCKS_PER_CONNECTION) {
      throw badRequest(`a connection may hold at most ${MAX_LOCKS_PER_CONNECTION} locks`, {
        limit: MAX_LOCKS_PER_CONNECTION,
      });
    }
  }

  add(session: Session, lock: HeldLock): void {
    let held = this.bySession.get(session);
    if (!held) this.bySession.set(session, (held = new Map()));
    held.set(HeldLocks.id(lock.board, lock.name), lock);
  }

  /** The lock this connection holds under that name with that token, if any. */
  find(session: Session, board: string, name: string, token: number): HeldLock | undefined {
    const lock = this.bySession.get(session)?.get(HeldLocks.id(board, name));
    return lock?.token === token ? lock : undefined;
  }

  remove(session: Session, lock: HeldLock): void {
    const held = this.bySession.get(session);
    const id = HeldLocks.id(lock.board, lock.name);
    if (held?.get(id) === lock) held.delete(id);
  }

  /** Every lock of the connection, forgotten here; the caller releases them. */
  takeAll(session: Session): HeldLock[] {
    const held = this.bySession.get(session);
    this.bySession.delete(session);
    return held ? [...held.values()] : [];
  }
}
