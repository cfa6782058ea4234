import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { encodeJson } from '../../shared/protocol/json.js';
import type { ErrorBody } from '../../shared/protocol/errors.js';
import type { EventSink, Subscription } from '../board/subscription.js';

/** What the sessions of one node delivered; plain integers, read by the metrics at scrape time. */
export interface DeliveryStats {
  eventFrames: number;
  /** String length of those frames: bytes for ASCII, as the outbound bound counts them. */
  eventBytes: number;
  slowConsumers: number;
}

/** Coalesces the event fragments of many subscriptions into one frame each per turn of the event loop. */
export class FlushScheduler {
  readonly stats: DeliveryStats = { eventFrames: 0, eventBytes: 0, slowConsumers: 0 };
  private readonly dirty = new Set<Session>();
  private scheduled = false;

  mark(session: Session): void {
    this.dirty.add(session);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const sessions = [...this.dirty];
      this.dirty.clear();
      for (const s of sessions) s.flush();
    });
  }
}

const FRAME_TARGET_BYTES = 64 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;

export interface SessionLimits {
  maxOutboundBytes: number;
}

/** One WebSocket connection: its identity, its subscriptions and its bounded outbound side. */
export class Session implements EventSink {
  readonly subscriptions = new Map<string, Subscription>();
  /** Resources tied to this connection (locks, presence, workers), released on close. */
  readonly onClose: Array<() => Promise<void> | void> = [];
  inflight = 0;
  alive = true;
  closed = false;
  private nextSubId = 1;
  private pending = new Map<Subscription, string[]>();
  readonly actorJson: string;

  constructor(
    readonly id: string,
    readonly agentId: string,
    readonly ws: WebSocket,
    readonly log: Logger,
    private readonly scheduler: FlushScheduler,
    private readonly limits: SessionLimits,
    /** Scopes and claims from authentication, for authorization checks. */
    readonly auth: { scopes: readonly string[] | null; expiresAt: number | null } = { scopes: null, expiresAt: null },
  ) {
    this.actorJson = JSON.stringify(agentId);
  }

  /** Shared by every session of this node. */
  get deliveryStats(): DeliveryStats {
    return this.scheduler.stats;
  }

  newSubscriptionId(): string {
    return `s${this.nextSubId++}`;
  }

  /** Sends a frame unless the peer is too far behind, in which case it is closed with 4008. */
  send(frame: string): boolean {
    if (this.closed) return false;
    if (this.ws.bufferedAmount + frame.length > this.limits.maxOutboundBytes) {
      this.dropSlow('outbound buffer full');
      return false;
    }
    this.ws.send(frame);
    return true;
  }

  reply(id: number, result: unknown): void {
    this.send(`{"id":${id},"ok":true,"result":${encodeJson(result)}}`);
  }

  replyError(id: number | null, error: ErrorBody): void {
    this.send(`{"id":${id === null ? 'null' : id},"ok":false,"error":${encodeJson(error)}}`);
  }

  queueEvents(sub: Subscription, fragment: string): void {
    const parts = this.pending.get(sub);
    if (parts) parts.push(fragment);
    else this.pending.set(sub, [fragment]);
    this.scheduler.mark(this);
  }

  sendProgress(sub: Subscription, rev: number): void {
    this.send(`{"push":"progress","sub":${JSON.stringify(sub.id)},"rev":${rev}}`);
  }

  flush(): void {
    const pending = this.pending;
    if (pending.size === 0) return;
    this.pending = new Map();
    const now = Date.now();
    for (const [sub, parts] of pending) {
      if (sub.closed) continue;
      sub.lastSentAt = now;
      // Whole revisions per frame, several per frame up to a size that keeps frames cheap to buffer.
      let start = 0;
      while (start < parts.length) {
        let end = start + 1;
        let size = parts[start]!.length;
        while (end < parts.length && size + parts[end]!.length < FRAME_TARGET_BYTES) size += parts[end++]!.length;
        const events = end - start === 1 ? parts[start] : parts.slice(start, end).join(',');
        const frame = `{"push":"events","sub":"${sub.id}","events":[${events}]}`;
        if (!this.send(frame)) return;
        this.scheduler.stats.eventFrames++;
        this.scheduler.stats.eventBytes += frame.length;
        start = end;
      }
    }
  }

  /**
   * Sends what is queued and waits until the socket has room again: replays use it so
   * that reading history never outruns the subscriber. A peer that stays full is dropped.
   */
  async drain(): Promise<void> {
    this.flush();
    const target = this.limits.maxOutboundBytes / 2;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (!this.closed && this.ws.bufferedAmount > target) {
      if (Date.now() > deadline) {
        this.dropSlow('replay could not drain');
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The 4008 close frame is queued behind the data already buffered, so nothing sent is cut. */
  dropSlow(reason: string): void {
    if (this.closed) return;
    this.scheduler.stats.slowConsumers++;
    this.log.warn({ reason, buffered: this.ws.bufferedAmount }, 'closing slow consumer');
    this.closeWith(CloseCode.SLOW_CONSUMER, 'slow consumer: resume with fromRev');
  }

  closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    this.ws.close(code, reason);
  }
}
