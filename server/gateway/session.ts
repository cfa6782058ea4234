import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode } from '../../shared/protocol/close-codes.js';
import { encodeError, encodeEventsPush, encodeProgressPush, encodeReply, type WireResult } from '../../shared/protocol/envelope.js';
import type { OpName } from '../../shared/protocol/messages/index.js';
import type { ErrorBody } from '../../shared/protocol/errors.js';
import type { Subscription } from '../board/subscription.js';
import type { Caller } from '../extension.js';
import type { DeliveryStats } from '../services.js';

/** Events of one subscription waiting for the next flush: whole revisions `first`..`last`, in order. */
interface PendingEvents {
  first: number;
  last: number;
  parts: string[];
}

/** How long one flush slice may hold the event loop before requests get a turn. */
const FLUSH_SLICE_MS = 2;

/**
 * Coalesces the event fragments of many subscriptions into one frame each per flush
 * round, and runs the rounds in slices so that reading requests and answering them is
 * never stuck behind a long fan-out. Subscribers with the same patterns at the same
 * position get the same frames, encoded once per round and shared as one Buffer.
 *
 * When events keep arriving while rounds are being flushed (a backlog: two rounds in a row
 * ended with events queued behind them), the next round is spaced from the start of the last
 * one by the number of sessions it flushed over `framesPerSecond`: a round to 1000
 * subscribers costs 1000 sends whether it carries one event or fifty, so under load the
 * events that arrive meanwhile ride in the next round's frames instead of each costing every
 * subscriber a frame of its own. Events that find no round under way, or land on one round
 * under way (light load, where a round to 1000 subscribers lasts about as long as the gap
 * between writes), start a round at once: spacing them would only add latency.
 *
 * It also measures the fan-out backlog: how long the oldest event not yet handed to a
 * socket has waited. Write admission refuses writes once that passes its budget.
 */
export class FlushScheduler {
  readonly stats: DeliveryStats = { eventFrames: 0, eventBytes: 0, slowConsumers: 0 };
  private dirty = new Set<Session>();
  /** When the oldest event in `dirty` was queued (0: nothing queued). */
  private dirtySince = 0;
  /** The round being flushed, and when its oldest event was queued. */
  private round: Session[] = [];
  private roundIndex = 0;
  private roundSince = 0;
  private scheduled = false;
  /** Earliest start of the next round (performance.now() ms), when it is paced. */
  private nextRoundAt = 0;
  /** Rounds in a row that ended with events queued behind them; from two on, the next round waits for `nextRoundAt`. */
  private backedUp = 0;
  /** Frames built this round, by subscription id, pattern set and revision range. */
  readonly shared = new Map<string, Buffer[]>();

  /** @param framesPerSecond spacing of rounds (0: none). */
  constructor(private readonly framesPerSecond = 0) {}

  mark(session: Session): void {
    if (this.dirty.size === 0) this.dirtySince = performance.now();
    this.dirty.add(session);
    this.schedule();
  }

  /** Milliseconds the oldest queued event has waited for its socket (0 when none waits). */
  backlogMs(now = performance.now()): number {
    const since = this.roundIndex < this.round.length ? this.roundSince : this.dirtySince;
    return since === 0 ? 0 : Math.max(0, now - since);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const between = this.roundIndex >= this.round.length;
    const wait = between && this.backedUp > 1 ? this.nextRoundAt - performance.now() : 0;
    if (wait >= 1) setTimeout(() => this.run(), Math.ceil(wait));
    else setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    if (this.roundIndex >= this.round.length) {
      if (this.dirty.size === 0) {
        this.dirtySince = 0;
        return;
      }
      this.shared.clear();
      this.round = [...this.dirty];
      this.roundIndex = 0;
      this.roundSince = this.dirtySince;
      this.dirty = new Set();
      this.dirtySince = 0;
      if (this.framesPerSecond > 0) this.nextRoundAt = performance.now() + (this.round.length * 1_000) / this.framesPerSecond;
    }
    const started = performance.now();
    const round = this.round;
    while (this.roundIndex < round.length) {
      round[this.roundIndex++]!.flush();
      if ((this.roundIndex & 31) === 0 && performance.now() - started > FLUSH_SLICE_MS) break;
    }
    if (this.roundIndex >= round.length) {
      this.round = [];
      this.roundIndex = 0;
      this.roundSince = 0;
      this.shared.clear();
      // One event landing on a round under way (light load, a few ms of jitter) goes in the
      // next round at once; only a backlog that outlasts a second round is paced.
      this.backedUp = this.dirty.size > 0 ? this.backedUp + 1 : 0;
      if (this.backedUp === 0) return;
    }
    this.schedule();
  }
}

const FRAME_TARGET_BYTES = 64 * 1024;
/** Replies longer than this count their length against the agent's byte budget (shorter ones count as a request). */
const LARGE_REPLY = 4 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;
const TEXT = { binary: false } as const;

/** Splits a subscription's pending events into frames of whole revisions, each about FRAME_TARGET_BYTES at most. */
function buildFrames(subId: string, parts: readonly string[]): Buffer[] {
  const frames: Buffer[] = [];
  let start = 0;
  while (start < parts.length) {
    let end = start + 1;
    let size = parts[start]!.length;
    while (end < parts.length && size + parts[end]!.length < FRAME_TARGET_BYTES) size += parts[end++]!.length;
    const events = end - start === 1 ? parts[start]! : parts.slice(start, end).join(',');
    frames.push(Buffer.from(encodeEventsPush(subId, events)));
    start = end;
  }
  return frames;
}

interface SessionLimits {
  maxOutboundBytes: number;
}

/** One WebSocket connection: its identity, its subscriptions and its bounded outbound side. */
export class Session implements Caller {
  readonly subscriptions = new Map<string, Subscription>();
  /** Resources tied to this connection (locks, presence, workers), released on close. */
  readonly onClose: Array<() => Promise<void> | void> = [];
  inflight = 0;
  /** Charges work a request caused beyond its frame (large replies, stored values parsed) to the agent's byte budget. */
  costMeter: ((bytes: number) => void) | null = null;
  alive = true;
  closed = false;
  private nextSubId = 1;
  private corked = false;
  private pending = new Map<Subscription, PendingEvents>();
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
  send(frame: string | Buffer): boolean {
    if (this.closed) return false;
    if (this.ws.bufferedAmount + frame.length > this.limits.maxOutboundBytes) {
      this.dropSlow('outbound buffer full');
      return false;
    }
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, TEXT);
    return true;
  }

  push(frame: string): boolean {
    this.coalesce();
    return this.send(frame);
  }

  reply<Op extends OpName>(id: number, result: WireResult<Op>): void {
    this.coalesce();
    const frame = encodeReply<Op>(id, result);
    // Sending is far cheaper per byte than parsing (stored values are spliced in as text): an eighth.
    if (frame.length > LARGE_REPLY) this.costMeter?.(frame.length >>> 3);
    this.send(frame);
  }

  /** Work a request did that its frame's length did not show (see costMeter). */
  chargeCost(bytes: number): void {
    this.costMeter?.(bytes);
  }

  replyError(id: number | null, error: ErrorBody): void {
    this.coalesce();
    this.send(encodeError(id, error));
  }

  /**
   * Replies finished in the same turn of the event loop (a batch of Redis replies resolves
   * many requests at once) leave in one write to the socket instead of one each, and so do
   * pushes sent with them (a task completion's reply and the next task's push): the socket
   * is corked until the current turn's callbacks and promises have run.
   */
  private coalesce(): void {
    if (this.corked || this.closed) return;
    const socket = (this.ws as unknown as { _socket?: Socket })._socket;
    if (!socket || typeof socket.cork !== 'function') return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  queueEvents(sub: Subscription, fragment: string, rev: number): void {
    const pending = this.pending.get(sub);
    if (pending) {
      pending.parts.push(fragment);
      pending.last = rev;
    } else {
      this.pending.set(sub, { first: rev, last: rev, parts: [fragment] });
      this.scheduler.mark(this);
    }
  }

  /**
   * A progress push says "nothing for you up to rev": it must never overtake events still
   * queued for the subscription (a client would take them for ones it already has).
   */
  sendProgress(sub: Subscription, rev: number): void {
    if (this.pending.has(sub)) return;
    this.send(encodeProgressPush(sub.id, rev));
  }

  flush(): void {
    const pending = this.pending;
    if (pending.size === 0) return;
    this.pending = new Map();
    const now = Date.now();
    const shared = this.scheduler.shared;
    for (const [sub, { first, last, parts }] of pending) {
      if (sub.closed) continue;
      sub.lastSentAt = now;
      // Equal patterns, rights and revision range mean equal events: build those frames once.
      let frames: Buffer[] | undefined;
      if (sub.shareable) {
        const key = `${sub.id}\u0000${sub.patternSetId}\u0000${first}\u0000${last}\u0000${parts.length}`;
        frames = shared.get(key);
        if (frames === undefined) shared.set(key, (frames = buildFrames(sub.id, parts)));
      } else frames = buildFrames(sub.id, parts);
      for (const frame of frames) {
        if (!this.send(frame)) return;
        this.scheduler.stats.eventFrames++;
        this.scheduler.stats.eventBytes += frame.length;
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

  /**
   * Sends what is queued and waits until the socket can take `bytes` more within its
   * bound: a frame larger than the usual slices (a snapshot part, a revision up to
   * MAX_REVISION_BYTES) goes once there is room for all of it. A peer that stays full is dropped.
   */
  async waitForRoom(bytes: number): Promise<boolean> {
    this.flush();
    const room = Math.max(0, this.limits.maxOutboundBytes - bytes);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (!this.closed && this.ws.bufferedAmount > room) {
      if (Date.now() > deadline) {
        this.dropSlow('the socket had no room for a large frame');
        return false;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return !this.closed;
  }

  /** Sends `frame` once the socket has room for it (see waitForRoom). */
  async sendWhenRoom(frame: string): Promise<boolean> {
    const bytes = Buffer.byteLength(frame);
    return (await this.waitForRoom(bytes)) && this.send(frame);
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
