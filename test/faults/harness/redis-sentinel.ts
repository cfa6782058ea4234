import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort } from '../../helpers/process-server.js';
import { withConnection } from './redis-node.js';
import { sleep } from './time.js';

/** The Sentinel name of the scenario's primary. */
export const PRIMARY_NAME = 'bbprimary';
/** How long the Sentinel waits before it calls the primary down. */
/** Long enough that a loaded machine's slow PING reply does not start a failover of its own. */
const DOWN_AFTER_MS = 3_000;

interface RedisServer {
  port: number;
  child: ChildProcess;
}

/** A short-lived connection to the redis-server (or Sentinel) on `port`. */
function query<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  return withConnection(`redis://127.0.0.1:${port}`, fn);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function field(info: string, name: string): string {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
}

function spawnRedis(args: string[]): ChildProcess {
  return spawn('redis-server', args, { stdio: 'ignore' });
}

/**
 * A private primary, one replica and one Sentinel watching them (quorum 1), all
 * `redis-server` processes without persistence. The fault: the primary SIGKILLed; the
 * Sentinel promotes the replica; the dead primary comes back empty as the new primary's
 * replica, so the next round can fail over again.
 */
export class SentinelRedis {
  private readonly dir = mkdtempSync(join(tmpdir(), 'bb-sentinel-'));
  private servers = new Map<number, RedisServer>();
  private sentinel: ChildProcess | null = null;
  sentinelPort = 0;
  primaryPort = 0;

  static async start(): Promise<SentinelRedis> {
    const set = new SentinelRedis();
    try {
      const primary = await set.startServer(await freePort());
      const replica = await set.startServer(await freePort(), primary);
      set.primaryPort = primary;
      await set.awaitInSync(replica, primary);
      await set.startSentinel(primary);
      await set.awaitSentinelSees(replica);
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** Settings for a server node following the primary through the Sentinel. */
  get env(): Record<string, string> {
    return { REDIS_SENTINELS: `127.0.0.1:${this.sentinelPort}`, REDIS_SENTINEL_NAME: PRIMARY_NAME };
  }

  private async startServer(port: number, replicaOf?: number): Promise<number> {
    // A directory of its own: a replica writes the RDB it syncs from into its `dir`, and a
    // server started there later would load it.
    const dir = mkdtempSync(join(this.dir, `${port}-`));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    args.push('--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0');
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const child = spawnRedis(args);
    this.servers.set(port, { port, child });
    await until(`redis-server on ${port}`, 10_000, async () => ((await query(port, (r) => r.ping())) === 'PONG' ? true : undefined));
    return port;
  }

  private async startSentinel(primary: number): Promise<void> {
    this.sentinelPort = await freePort();
    const conf = join(this.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${this.sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${PRIMARY_NAME} 127.0.0.1 ${primary} 1`,
        `sentinel down-after-milliseconds ${PRIMARY_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${PRIMARY_NAME} 10000`,
        `sentinel parallel-syncs ${PRIMARY_NAME} 1`,
        '',
      ].join('\n'),
    );
    this.sentinel = spawnRedis([conf, '--sentinel']);
    await until('the Sentinel', 10_000, async () => ((await this.sentinelPrimary()) === primary ? true : undefined));
  }

  /** The primary's port as the Sentinel tells it. */
  sentinelPrimary(): Promise<number> {
    return query(this.sentinelPort, async (s) => Number(((await s.call('SENTINEL', 'get-master-addr-by-name', PRIMARY_NAME)) as string[])[1]));
  }

  private async awaitInSync(replica: number, primary: number): Promise<void> {
    await until(`replica ${replica} in sync with ${primary}`, 20_000, async () => {
      const info = await query(replica, (r) => r.info('replication'));
      return field(info, 'master_link_status') === 'up' && field(info, 'master_sync_in_progress') === '0' ? true : undefined;
    });
  }

  private async awaitSentinelSees(replica: number): Promise<void> {
    // The Sentinel learns replicas from the primary's INFO (every 10 s) and must find it up.
    await until(`the Sentinel to list replica ${replica}`, 30_000, async () => {
      const replicas = (await query(this.sentinelPort, (s) => s.call('SENTINEL', 'REPLICAS', PRIMARY_NAME))) as string[][];
      const seen = replicas.find((fields) => fields[fields.indexOf('port') + 1] === String(replica));
      if (!seen) return undefined;
      const flags = seen[seen.indexOf('flags') + 1] ?? '';
      return flags.includes('down') || flags.includes('disconnected') ? undefined : true;
    });
  }

  async identity(port: number): Promise<{ runId: string; role: string; offset: number; promotedAt: number; keys: number }> {
    return query(port, async (r) => {
      const server = await r.info('server');
      const replication = await r.info('replication');
      return {
        runId: field(server, 'run_id'),
        role: field(replication, 'role'),
        offset: Number(field(replication, 'master_repl_offset')),
        // A promoted replica keeps the offset its old primary's stream ended at for it (+1).
        promotedAt: Number(field(replication, 'second_repl_offset')) - 1,
        keys: await r.dbsize(),
      };
    });
  }

  /**
   * SIGKILLs the primary and waits until the Sentinel has promoted the replica and the
   * promoted server says it is primary. Then the old primary starts again, empty, as the
   * new primary's replica.
   */
  async failOver(
    /** Freeze the replica (SIGSTOP) this long and cut its link, killing the primary halfway: the writes in between never reach it. */
    replicaStallMs = 0,
  ): Promise<{ from: number; to: number; failoverMs: number; killedOffset: number; promotedOffset: number; runIds: [string, string] }> {
    const from = this.primaryPort;
    const current = await this.sentinelPrimary();
    if (current !== from)
      throw new Error(`the Sentinel failed over by itself (primary :${current}, expected :${from}): the machine is too loaded for its down-after`);
    const server = this.servers.get(from)!;
    const replica = [...this.servers.keys()].find((port) => port !== from);
    const frozen = replicaStallMs > 0 && replica !== undefined ? this.servers.get(replica)!.child : null;
    if (frozen) {
      // Frozen, the replica cannot read or reconnect; the primary then drops its link (and
      // what it had buffered for it): writes from here on exist on the primary alone.
      frozen.kill('SIGSTOP');
      await query(from, (r) => r.call('CLIENT', 'KILL', 'TYPE', 'replica'));
      await sleep(replicaStallMs / 2);
    }
    const before = await this.identity(from);
    const killedAt = performance.now();
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await exited;
    this.servers.delete(from);
    if (frozen) {
      await sleep(replicaStallMs / 2);
      frozen.kill('SIGCONT');
    }
    const to = await until('the Sentinel to promote the replica', 60_000, async () => {
      const port = await this.sentinelPrimary();
      if (port === from) return undefined;
      return (await this.identity(port)).role === 'master' ? port : undefined;
    });
    const failoverMs = performance.now() - killedAt;
    const after = await this.identity(to);
    this.primaryPort = to;
    await this.startServer(from, to);
    await this.awaitInSync(from, to);
    await this.awaitSentinelSees(from);
    return { from, to, failoverMs, killedOffset: before.offset, promotedOffset: after.promotedAt, runIds: [before.runId, after.runId] };
  }

  async stop(): Promise<void> {
    const children = [...[...this.servers.values()].map((s) => s.child), ...(this.sentinel ? [this.sentinel] : [])];
    this.servers.clear();
    this.sentinel = null;
    await Promise.all(
      children.map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
