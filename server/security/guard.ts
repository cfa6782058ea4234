import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { ErrorCode } from '../../shared/protocol/errors.js';
import type { Config } from '../config.js';
import { UpgradeRefusal, type ConnectionGuard, type Identity } from '../gateway/auth.js';
import type { Session } from '../gateway/session.js';
import { originAllowed, originPolicy, type OriginPolicy } from './origin.js';
import { StrikeCounter, TokenBucket } from './rate-limit.js';

/** Refused requests are counted over this window to decide when to cut a client off. */
export const STRIKE_WINDOW_MS = 10_000;
/** How long a connection cut off for its rate gets to finish the close handshake. */
const ABUSE_CLOSE_GRACE_MS = 1_000;
/** setTimeout fires at once past 2^31-1 ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type GuardConfig = Pick<
  Config,
  'AUTH_MODE' | 'ALLOWED_ORIGINS' | 'MAX_CONNECTIONS_PER_AGENT' | 'RATE_LIMIT_RPS' | 'RATE_LIMIT_BURST' | 'RATE_LIMIT_CLOSE_AFTER'
>;

interface FrameLimits {
  bucket: TokenBucket;
  strikes: StrikeCounter;
}

/** The id of a refused frame, so the client can match the RATE_LIMITED reply to its request. */
function frameId(text: string): number | null {
  try {
    const frame: unknown = JSON.parse(text);
    if (frame !== null && typeof frame === 'object' && 'id' in frame && Number.isSafeInteger(frame.id)) return frame.id as number;
  } catch {
    // not JSON: answered with id null, as the dispatcher would
  }
  return null;
}

/** Origins, connections per agent, request rate and credential expiry for one node. */
export class SecurityGuard implements ConnectionGuard {
  private readonly origins: OriginPolicy;
  private readonly connections = new Map<string, number>();
  private readonly frameLimits = new WeakMap<Session, FrameLimits>();

  constructor(private readonly config: GuardConfig) {
    this.origins = originPolicy(config.ALLOWED_ORIGINS, config.AUTH_MODE);
  }

  checkOrigin(req: IncomingMessage): void {
    if (!originAllowed(this.origins, req.headers.origin, req.headers.host)) {
      throw new UpgradeRefusal(403, 'origin not allowed');
    }
  }

  admit(identity: Identity, socket: Duplex): void {
    const max = this.config.MAX_CONNECTIONS_PER_AGENT;
    // A socket the client already closed will never emit the close that releases its slot.
    if (max === 0 || socket.destroyed) return;
    const agent = identity.agentId;
    const held = this.connections.get(agent) ?? 0;
    if (held >= max) throw new UpgradeRefusal(429, `agent ${agent} already holds ${max} connections to this node`);
    this.connections.set(agent, held + 1);
    // The TCP socket outlives the upgrade: its close is the end of the connection, upgraded or not.
    socket.once('close', () => {
      const left = (this.connections.get(agent) ?? 1) - 1;
      if (left > 0) this.connections.set(agent, left);
      else this.connections.delete(agent);
    });
  }

  opened(session: Session): void {
    const { RATE_LIMIT_RPS, RATE_LIMIT_BURST } = this.config;
    if (RATE_LIMIT_RPS > 0) {
      this.frameLimits.set(session, {
        bucket: new TokenBucket(RATE_LIMIT_RPS, RATE_LIMIT_BURST, Date.now()),
        strikes: new StrikeCounter(STRIKE_WINDOW_MS),
      });
    }
    const expiresAt = session.auth.expiresAt;
    if (expiresAt !== null) this.closeAtExpiry(session, expiresAt);
  }

  admitFrame(session: Session, text: string): boolean {
    const limits = this.frameLimits.get(session);
    if (!limits) return true;
    const now = Date.now();
    const retryAfterMs = limits.bucket.take(now);
    if (retryAfterMs === 0) return true;
    if (limits.strikes.hit(now) > this.config.RATE_LIMIT_CLOSE_AFTER) {
      session.log.warn({ limit: this.config.RATE_LIMIT_RPS }, 'closing a connection that kept exceeding its request rate');
      session.closeWith(CloseCode.RATE_LIMITED, 'rate limited');
      // What it already sent need not be read: stop reading, so a flood queued in the
      // socket costs nothing more, and end the socket once the close frame had its time.
      session.ws.pause();
      setTimeout(() => session.ws.terminate(), ABUSE_CLOSE_GRACE_MS).unref();
      return false;
    }
    // A plain body, not a BlackboardError: this path runs per refused frame of a flood, and capturing a stack is its costliest part.
    session.replyError(frameId(text), {
      code: ErrorCode.RATE_LIMITED,
      message: 'too many requests on this connection',
      details: { retryAfterMs, limit: this.config.RATE_LIMIT_RPS },
    });
    return false;
  }

  /** A credential is good until its `exp`, not for the life of the socket. */
  private closeAtExpiry(session: Session, expiresAt: number): void {
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const left = expiresAt - Date.now();
      if (left > 0) {
        timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
        timer.unref();
        return;
      }
      session.log.info('credential expired; closing the connection');
      session.closeWith(CloseCode.POLICY, 'token expired');
    };
    session.ws.once('close', () => clearTimeout(timer));
    check();
  }
}
