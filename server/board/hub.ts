import type { Logger } from 'pino';
import { BoardFeed } from './feed.js';
import { boardKeys } from './keys.js';
import type { RedisClient } from './scripts.js';
import type { Subscription } from './subscription.js';
import { AgentShares } from './agent-shares.js';
import { isGlob } from '../../shared/protocol/globs.js';

const FEED_LINGER_MS = 30_000;

interface HubOptions {
  progressMs: number;
  /** Subscriptions one agent may hold on this node, across its connections. */
  maxSubscriptionsPerAgent: number;
  /** Glob patterns those subscriptions may hold in all. */
  maxGlobsPerAgent: number;
}

function globCount(sub: Subscription): number {
  return sub.patterns.filter(isGlob).length;
}

/**
 * The subscription hub of one node: a feed per board that has local subscribers, one
 * Redis connection in subscriber mode for all of them, idle `progress` pushes, and
 * the periodic check that finds revisions a lost publish did not announce.
 */
export class SubscriptionHub {
  private readonly feeds = new Map<string, BoardFeed>();
  private readonly opening = new Map<string, Promise<BoardFeed>>();
  private readonly byChannel = new Map<string, BoardFeed>();
  private timer: NodeJS.Timeout | null = null;
  private readonly shares: AgentShares;
  private readonly globShares: AgentShares;
  private readonly counted = new WeakSet<Subscription>();
  private progressTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly log: Logger,
    private readonly options: HubOptions,
    /** Tells a subscription's owner it can no longer be served from this position. */
    private readonly onSubscriptionBroken: (sub: Subscription, reason: string) => void,
    private readonly sendProgress: (sub: Subscription, rev: number) => void,
  ) {
    this.shares = new AgentShares('subscriptions', 'subscriptions', () => options.maxSubscriptionsPerAgent);
    this.globShares = new AgentShares('patterns', 'glob patterns in subscriptions', () => options.maxGlobsPerAgent);
    subscriber.on('message', (channel: string, message: string) => {
      this.byChannel.get(channel)?.onMessage(message);
    });
    // After the subscriber connection comes back, announcements may have been missed.
    subscriber.on('ready', () => {
      for (const feed of this.feeds.values()) void feed.catchUp();
    });
  }

  start(): void {
    const period = Math.max(50, Math.min(1_000, Math.floor(this.options.progressMs / 2)));
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.log.warn({ err }, 'subscription hub tick failed'));
    }, period);
    this.timer.unref();
    // Finer than the period above: progress is due PROGRESS_MS after a subscription's last frame, give or take a tick.
    const progressTick = Math.max(10, Math.min(100, Math.floor(this.options.progressMs / 10)));
    this.progressTimer = setInterval(() => this.sendDueProgress(), progressTick);
    this.progressTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.timer = null;
    this.progressTimer = null;
  }

  /** A progress push to each live subscription that got no frame for PROGRESS_MS, again every PROGRESS_MS while idle. */
  private sendDueProgress(): void {
    const now = Date.now();
    for (const feed of this.feeds.values()) {
      for (const sub of feed.subscriptions) {
        if (sub.live && now - sub.lastSentAt >= this.options.progressMs) {
          sub.lastSentAt = now;
          this.sendProgress(sub, Math.max(feed.lastRev, sub.nextRev - 1));
        }
      }
    }
  }

  feed(board: string): BoardFeed | undefined {
    return this.feeds.get(board);
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const feed of this.feeds.values()) n += feed.subscriptions.size;
    return n;
  }

  /**
   * Adds a subscription to its board's feed, opening the feed first if needed. RATE_LIMITED
   * (reason `subscriptions` or `patterns`) when its agent already holds its share on this
   * node: every glob of every subscription is matched against each readable key written,
   * so the globs an agent holds bound the work its subscriptions add to every write.
   */
  async attach(sub: Subscription): Promise<BoardFeed> {
    if (!this.counted.has(sub)) {
      this.shares.take(sub.sink.agentId);
      try {
        this.globShares.take(sub.sink.agentId, globCount(sub));
      } catch (err) {
        this.shares.give(sub.sink.agentId);
        throw err;
      }
      this.counted.add(sub);
    }
    let feed: BoardFeed;
    try {
      feed = this.feeds.get(sub.board) ?? (await this.open(sub.board));
    } catch (err) {
      this.uncount(sub);
      throw err;
    }
    feed.subscriptions.add(sub);
    feed.idleSince = 0;
    return feed;
  }

  private uncount(sub: Subscription): void {
    if (!this.counted.delete(sub)) return;
    this.shares.give(sub.sink.agentId);
    this.globShares.give(sub.sink.agentId, globCount(sub));
  }

  detach(sub: Subscription): void {
    this.uncount(sub);
    const feed = this.feeds.get(sub.board);
    if (!feed) return;
    feed.subscriptions.delete(sub);
    if (feed.subscriptions.size === 0) feed.idleSince = Date.now();
  }

  private open(board: string): Promise<BoardFeed> {
    let opening = this.opening.get(board);
    if (opening) return opening;
    opening = (async () => {
      const keys = boardKeys(board);
      const feed = new BoardFeed(board, this.redis, this.log, (f, reason) => this.broken(f, reason));
      // Subscribe before reading the revision: nothing committed after the read is missed.
      this.byChannel.set(keys.channel, feed);
      try {
        await this.subscriber.subscribe(keys.channel);
        const [rev, epoch] = await this.redis.hmget(keys.meta, 'rev', 'epoch');
        feed.lastRev = Number(rev ?? 0);
        feed.epoch = epoch ?? '';
      } catch (err) {
        this.byChannel.delete(keys.channel);
        throw err;
      }
      this.feeds.set(board, feed);
      return feed;
    })().finally(() => this.opening.delete(board));
    this.opening.set(board, opening);
    return opening;
  }

  private broken(feed: BoardFeed, reason: string): void {
    this.log.warn({ board: feed.board, reason }, 'subscribers of this board must resume');
    for (const sub of [...feed.subscriptions]) this.onSubscriptionBroken(sub, reason);
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    for (const [board, feed] of this.feeds) {
      if (feed.idleSince !== 0 && now - feed.idleSince > FEED_LINGER_MS) {
        this.feeds.delete(board);
        const channel = boardKeys(board).channel;
        this.byChannel.delete(channel);
        this.subscriber.unsubscribe(channel).catch(() => undefined);
        continue;
      }
    }
    await this.pollRevisions();
  }

  /** Finds revisions whose announcement was lost (the publish is fire-and-forget). */
  private async pollRevisions(): Promise<void> {
    const active = [...this.feeds.values()].filter((f) => f.subscriptions.size > 0);
    if (active.length === 0) return;
    try {
      // One command per board (boards live in different cluster slots, so no pipeline).
      // What each feed had before asking: live messages may move it on while the reads run.
      const before = active.map((feed) => ({ rev: feed.lastRev, epoch: feed.epoch }));
      const states = await Promise.all(active.map((feed) => this.redis.hmget(boardKeys(feed.board).meta, 'rev', 'epoch')));
      active.forEach((feed, i) => {
        const [revText, epoch] = states[i] ?? [];
        const rev = Number(revText ?? 0);
        const was = before[i]!;
        // No meta: the board is being rebuilt. A new epoch or a lower revision: it was rebuilt.
        if (!epoch || feed.epoch !== was.epoch) return;
        if ((was.epoch !== '' && epoch !== was.epoch) || rev < was.rev) {
          feed.restart(epoch, rev, epoch !== was.epoch ? 'epoch changed' : 'revision went backwards');
        } else if (rev > feed.lastRev) void feed.catchUp();
      });
    } catch (err) {
      this.log.debug({ err }, 'revision poll failed');
    }
  }
}
