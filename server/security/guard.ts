import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { ErrorCode } from '../../shared/protocol/errors.js';
import type { Config } from '../config.js';
import { UpgradeRefusal, type ConnectionGuard, type Identity } from '../gateway/auth.js';
import type { Session } from '../gateway/session.js';
import { hasLongDigitRun } from '../../shared/protocol/json.js';
import { AgentRates, LOSSLESS_PARSE_FACTOR, RECONNECT_BAR_MS } from './agent-rate.js';
import { originAllowed, originPolicy, type OriginPolicy } from './origin.js';
import { StrikeCounter, TokenBucket } from './rate-limit.js';
import type { ShareReason } from '../board/agent-shares.js';

/** Refused requests are counted over this window to decide when to cut a client off. */
const STRIKE_WINDOW_MS = 10_000;
/** How long a connection cut off for its rate gets to finish the close handshake. */
const ABUSE_CLOSE_GRACE_MS = 1_000;
/** setTimeout fires at once past 2^31-1 ms; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A refused frame counts one strike per started block of this many bytes: big refused frames cost more to read. */
const STRIKE_BYTES = 64 * 1024;

type GuardConfig = Pick<
  Config,
  | 'AUTH_MODE'
  | 'ALLOWED_ORIGINS'
  | 'MAX_CONNECTIONS_PER_AGENT'
  | 'RATE_LIMIT_RPS'
  | 'RATE_LIMIT_BURST'
  | 'RATE_LIMIT_CLOSE_AFTER'
  | 'RATE_LIMIT_AGENT_RPS'
  | 'RATE_LIMIT_AGENT_BURST'
  | 'RATE_LIMIT_AGENT_BYTES'
  | 'RATE_LIMIT_AGENT_BYTES_BURST'
  | 'MAX_FRAME_BYTES'
>;

interface FrameLimits {
  bucket: TokenBucket | null;
  strikes: StrikeCounter;
}

const LEADING_ID = /^\s*\{\s*"id"\s*:\s*(-?\d{1,16})\s*[,}]/;

/**
 * The id of a refused frame, so the client can match the RATE_LIMITED reply to its request.
 * Read from the frame's head when `id` comes first (as clients send it), else parsed; a
 * refused frame is never parsed digit-exact.
 */
function frameId(text: string): number | null {
  const head = LEADING_ID.exec(text.slice(0, 64));
  if (head) {
    const id = Number(head[1]);
    return Number.isSafeInteger(id) ? id : null;
  }
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
  private readonly agentRates: AgentRates;

  constructor(private readonly config: GuardConfig) {
    this.origins = originPolicy(config.ALLOWED_ORIGINS, config.AUTH_MODE);
    this.agentRates = new AgentRates(config);
  }

  checkOrigin(req: IncomingMessage): void {
    if (!originAllowed(this.origins, req.headers.origin, req.headers.host)) {
      throw new UpgradeRefusal(403, 'origin not allowed');
    }
  }

  admit(identity: Identity, socket: Duplex): void {
    const barred = this.agentRates.barredFor(identity.agentId, Date.now());
    if (barred > 0) {
      throw new UpgradeRefusal(429, `agent ${identity.agentId} was closed for its request rate; retry in ${Math.ceil(barred / 1000)} s`);
    }
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
    const now = Date.now();
    this.frameLimits.set(session, {
      bucket: RATE_LIMIT_RPS > 0 ? new TokenBucket(RATE_LIMIT_RPS, RATE_LIMIT_BURST, now) : null,
      strikes: new StrikeCounter(STRIKE_WINDOW_MS),
    });
    this.agentRates.connected(session.agentId, now);
    session.costMeter = (bytes) => this.agentRates.charge(session.agentId, bytes, Date.now());
    session.ws.once('close', () => this.agentRates.disconnected(session.agentId));
    const expiresAt = session.auth.expiresAt;
    if (expiresAt !== null) this.closeAtExpiry(session, expiresAt);
  }

  /**
   * Charges a frame before it is decoded or parsed: one request on the connection's and
   * the agent's request buckets, its length on the agent's byte bucket. Past any of them
   * it is refused with RATE_LIMITED, and a connection that keeps being refused is closed.
   */
  admitFrame(session: Session, frame: Buffer): string | null {
    const limits = this.frameLimits.get(session);
    if (!limits) return frame.toString('utf8');
    const now = Date.now();
    const bytes = frame.length;
    const connectionWait = limits.bucket?.shortfall(now, 1) ?? 0;
    const agent = this.agentRates.shortfall(session.agentId, bytes, now);
    const waitMs = Math.max(connectionWait, agent.waitMs);
    if (waitMs === 0) {
      limits.bucket?.charge(now, 1);
      this.agentRates.take(session.agentId, bytes, now);
      const text = frame.toString('utf8');
      // Digit-exact parsing costs several times more: the agent's byte budget pays the difference.
      if (bytes > 1_024 && hasLongDigitRun(text)) this.agentRates.charge(session.agentId, bytes * (LOSSLESS_PARSE_FACTOR - 1), now);
      return text;
    }
    const reason: ShareReason = connectionWait >= agent.waitMs ? 'rate' : agent.reason;
    if (limits.strikes.hit(now, 1 + Math.floor(bytes / STRIKE_BYTES)) > this.config.RATE_LIMIT_CLOSE_AFTER) {
      session.log.warn({ reason }, 'closing a connection that kept exceeding its request rate');
      session.closeWith(CloseCode.RATE_LIMITED, 'rate limited');
      // Reconnecting at once would only be closed again, after the server read its frames.
      this.agentRates.bar(session.agentId, now + RECONNECT_BAR_MS);
      // What it already sent need not be read: stop reading, so a flood queued in the
      // socket costs nothing more, and end the socket once the close frame had its time.
      session.ws.pause();
      setTimeout(() => session.ws.terminate(), ABUSE_CLOSE_GRACE_MS).unref();
      return null;
    }
    // A plain body, not a BlackboardError: this path runs per refused frame of a flood, and capturing a stack is its costliest part.
    session.replyError(frameId(frame.toString('utf8')), {
      code: ErrorCode.RATE_LIMITED,
      message:
        reason === 'rate'
          ? 'too many requests on this connection'
          : reason === 'agentRate'
            ? 'too many requests from this agent'
            : 'too many bytes from this agent',
      details: { retryAfterMs: waitMs, reason, limit: this.limitOf(reason) },
    });
    return null;
  }

  private limitOf(reason: ShareReason): number {
    if (reason === 'agentRate') return this.config.RATE_LIMIT_AGENT_RPS;
    if (reason === 'agentBytes') return this.config.RATE_LIMIT_AGENT_BYTES;
    return this.config.RATE_LIMIT_RPS;
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
