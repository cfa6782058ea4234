import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Session } from './session.js';

export interface Identity {
  agentId: string;
  /** null: unrestricted (authentication off). */
  scopes: readonly string[] | null;
  /** Epoch ms at which the credential expires, or null. */
  expiresAt: number | null;
}

/** Refusal at the HTTP upgrade: nothing unauthenticated reaches the application. */
export class UpgradeRefusal extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 429 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface Authenticator {
  authenticate(req: IncomingMessage, url: URL): Promise<Identity>;
}

/**
 * Admission rules besides identity, and the per-connection limits that follow from it
 * (origins, connections per agent, request rate, credential expiry).
 */
export interface ConnectionGuard {
  /** Before authentication; throws UpgradeRefusal (403) for a disallowed Origin. */
  checkOrigin(req: IncomingMessage): void;
  /** After authentication; throws UpgradeRefusal (429) when the agent has too many connections here. */
  admit(identity: Identity, socket: Duplex): void;
  /** The WebSocket is open: start its limits (and its expiry timer). */
  opened(session: Session): void;
  /**
   * Each inbound frame, before it is decoded or parsed: charged from its length. Returns
   * its text when admitted; null when refused (already answered, or the connection closed).
   */
  admitFrame(session: Session, frame: Buffer): string | null;
}

/** Authentication must finish in time: a slow or stuck credential check holds a socket. */
export async function withinHandshake<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpgradeRefusal(503, 'authentication did not finish in time')), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** AUTH_MODE=none: the agent names itself with `?agent=<id>`, or gets a generated id. */
export class OpenAuthenticator implements Authenticator {
  async authenticate(_req: IncomingMessage, url: URL): Promise<Identity> {
    const requested = url.searchParams.get('agent');
    if (requested !== null && !AGENT_ID.test(requested)) {
      throw new UpgradeRefusal(400, 'agent must match [A-Za-z0-9_.:@-]{1,128}');
    }
    return { agentId: requested ?? `agent-${randomUUID().slice(0, 8)}`, scopes: null, expiresAt: null };
  }
}
