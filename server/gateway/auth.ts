import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

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
    readonly status: 401 | 403 | 400,
    message: string,
  ) {
    super(message);
  }
}

export interface Authenticator {
  authenticate(req: IncomingMessage, url: URL): Promise<Identity>;
}

const AGENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

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
