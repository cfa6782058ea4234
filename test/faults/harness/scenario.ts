import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { WebSocket } from 'ws';
import { BlackboardClient, type ClientOptions, type SocketFactory } from '../../../client/sdk/index.js';
import { databaseUrl } from '../../helpers/pg-database.js';
import { EpochMonitor } from './epochs.js';
import { findLostWrites } from './lost-writes.js';
import { scenarioDatabase, type TestDatabase } from './postgres.js';
import { faultProfile, type FaultProfile } from './profile.js';
import { History, RegisterClient, type Durability } from './recorder.js';
import { startPrivateRedis, type PrivateRedis } from './redis-node.js';
import { SentinelRedis } from './redis-sentinel.js';
import { appendResult, type FaultResultRow } from './results.js';
import { ServerNode } from './server-node.js';
import { startFaultProxy, type FaultProxy } from './tcp-proxy.js';
import { checkRecorded } from './verdict.js';
import type { LinearizabilityFailure } from '../checker/linearizability.js';
import { Workload } from './workload.js';

export interface ScenarioOptions {
  name: string;
  /** Server nodes sharing the scenario's Redis and database (default 1). */
  nodes?: number;
  serverEnv?: Record<string, string>;
  /** Durability of the register writes; `mixed`: even keys durable, odd keys memory. */
  durability: Durability | 'mixed';
  keys?: number;
  thinkMs?: number;
  /** The register clients' request timeout: past it an operation is recorded as unknown. */
  requestTimeoutMs?: number;
  /** Put a fault proxy between the server nodes and Redis. */
  redisProxy?: boolean;
  /** Put a fault proxy between the server nodes and Postgres. */
  postgresProxy?: boolean;
  /** Put a fault proxy between the register clients and the first node. */
  clientProxy?: boolean;
  /** Nodes find Redis through a Sentinel watching a primary and a replica (`scenario.sentinel`). */
  sentinel?: boolean;
}

const PG_PORT = Number(new URL(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432').port || 5432);

function board(name: string): string {
  return `fault-${name}-${randomBytes(4).toString('hex')}`;
}

/**
 * One fault scenario's world: a private Redis, a database of its own, server nodes as
 * child processes, optional fault proxies, the register clients with their recorded
 * history, and the epoch monitor. `finish` checks everything and writes the result row.
 */
export class FaultScenario {
  readonly profile: FaultProfile = faultProfile();
  readonly history = new History();
  readonly evidence: string[] = [];
  readonly board: string;
  readonly started = performance.now();
  faults = 0;
  private finished = false;
  registerClients: RegisterClient[] = [];
  /** With `sentinel: true`: the primary, its replica and the Sentinel the nodes follow. */
  sentinel?: SentinelRedis;
  workload!: Workload;
  monitor!: EpochMonitor;
  private readonly sdks: BlackboardClient[] = [];
  private readonly cleanups: Array<() => Promise<unknown> | unknown> = [];

  private constructor(
    readonly options: ScenarioOptions,
    readonly redis: PrivateRedis,
    readonly db: TestDatabase,
    readonly nodes: ServerNode[],
    readonly proxies: { redis?: FaultProxy; postgres?: FaultProxy; client?: FaultProxy },
  ) {
    this.board = board(options.name);
  }

  static async start(options: ScenarioOptions): Promise<FaultScenario> {
    const cleanups: Array<() => Promise<unknown> | unknown> = [];
    try {
      const redis = await startPrivateRedis();
      cleanups.push(() => redis.stop());
      const db = scenarioDatabase();
      cleanups.push(() => db.drop());
      const sentinel = options.sentinel ? await SentinelRedis.start() : undefined;
      if (sentinel) cleanups.push(() => sentinel.stop());
      const proxies: FaultScenario['proxies'] = {};
      if (options.redisProxy) proxies.redis = await startFaultProxy(redis.port);
      if (options.postgresProxy) proxies.postgres = await startFaultProxy(PG_PORT);
      for (const proxy of [proxies.redis, proxies.postgres]) if (proxy) cleanups.push(() => proxy.shutdown());
      const env = {
        REDIS_URL: proxies.redis ? `redis://127.0.0.1:${proxies.redis.port}` : redis.url,
        DATABASE_URL: proxies.postgres ? databaseUrl(db.name, proxies.postgres.port) : db.url,
        HISTORY_CHECK_MS: '200',
        PERSIST_CLAIM_MS: '1000',
        ...sentinel?.env,
        ...options.serverEnv,
      };
      const nodes: ServerNode[] = [];
      cleanups.push(() => Promise.all(nodes.map((n) => n.stop())));
      // One after the other: they would only queue on the migration lock anyway.
      for (let i = 0; i < (options.nodes ?? 1); i++) nodes.push(await ServerNode.start(env));
      const first = nodes[0]!;
      if (options.clientProxy) {
        const proxy = (proxies.client = await startFaultProxy(first.port));
        cleanups.push(() => proxy.shutdown());
      }
      const scenario = new FaultScenario(options, redis, db, nodes, proxies);
      if (sentinel) scenario.sentinel = sentinel;
      scenario.cleanups.push(...cleanups);
      await scenario.prepareClients();
      return scenario;
    } catch (err) {
      for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
      throw err;
    }
  }

  /** The addresses register clients use: through the client proxy, or every node (each client starting at another). */
  private registerUrls(index: number): string[] {
    if (this.proxies.client) return [`ws://127.0.0.1:${this.proxies.client.port}/v1/ws`];
    const urls = this.nodes.map((n) => n.wsUrl);
    return [...urls.slice(index % urls.length), ...urls.slice(0, index % urls.length)];
  }

  private async prepareClients(): Promise<void> {
    const { profile, options } = this;
    const durabilityOf = (i: number): Durability => (options.durability === 'mixed' ? (i % 2 === 0 ? 'durable' : 'memory') : options.durability);
    for (let i = 0; i < profile.clients; i++) {
      const sdk = await this.client(this.registerUrls(i), { requestTimeoutMs: options.requestTimeoutMs ?? 8_000, agent: `c${i}` });
      this.registerClients.push(new RegisterClient(`c${i}`, sdk, this.history));
    }
    this.monitor = new EpochMonitor(await this.client(this.nodes.map((n) => n.wsUrl)), this.board);
    this.workload = new Workload(this.registerClients, this.history, {
      board: this.board,
      keys: options.keys ?? 4,
      durabilityOf,
      thinkMs: options.thinkMs ?? 10,
      generation: () => this.monitor.generation,
      healthCheck: () => this.assertNodesAlive(),
    });
  }

  /** A connected SDK client, closed with the scenario. */
  async client(urls: string | string[], options: Partial<ClientOptions> = {}): Promise<BlackboardClient> {
    const sdk = new BlackboardClient({
      url: urls,
      WebSocket: WebSocket as unknown as SocketFactory,
      reconnect: { baseMs: 20, capMs: 500 },
      requestTimeoutMs: 15_000,
      ...options,
    });
    this.sdks.push(sdk);
    await sdk.connect();
    return sdk;
  }

  /** A fault proxy in front of a port (a node's), shut down with the scenario. */
  async proxy(targetPort: number): Promise<FaultProxy> {
    const proxy = await startFaultProxy(targetPort);
    this.cleanups.push(() => proxy.shutdown());
    return proxy;
  }

  /** Starts the epoch monitor and the register workload. */
  async begin(): Promise<void> {
    await this.monitor.start();
    this.workload.start();
  }

  /** Throws if a server node died without being killed by the scenario. */
  assertNodesAlive(): void {
    for (const node of this.nodes) node.assertAlive();
  }

  /**
   * Runs the scenario's body (which ends with `finish`). If it throws first, a failed
   * row is still written, naming the error, so the report shows the failure.
   */
  async run(body: () => Promise<FaultResultRow>): Promise<FaultResultRow> {
    try {
      return await body();
    } catch (err) {
      if (!this.finished) {
        const registerOperations = this.history.ops.length;
        appendResult({
          scenario: this.options.name,
          profile: this.profile.name,
          at: new Date().toISOString(),
          operations: registerOperations,
          registerOperations,
          unknownOperations: this.history.unknown,
          faultsInjected: this.faults,
          faultEvidence: this.evidence,
          acknowledgedWritesLost: 0,
          memoryWritesLostWithNewEpoch: 0,
          epochsAnnounced: this.monitor.changes.length,
          linearizable: 'unproven',
          checks: {},
          passed: false,
          finished: false,
          durationMs: Math.round(performance.now() - this.started),
          checkMs: 0,
          loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
          failure: `not finished: ${(err as Error).message}`,
        });
      }
      throw err;
    }
  }

  /** Counts injected faults (one by default), with what proves they fired. */
  fault(evidence: string, count = 1): void {
    this.faults += count;
    this.evidence.push(evidence);
  }

  /**
   * Stops the workload, reads every key once more, finds lost acknowledged writes in
   * the change log, runs the linearizability checker, and writes the result row.
   */
  async finish(
    extra: {
      checks?: Record<string, boolean>;
      domainOperations?: number;
      problems?: string[];
      /** Adds what the scenario knows about a linearizability failure (when its culprit ran, say). */
      explain?: (failure: LinearizabilityFailure) => string | undefined;
    } = {},
  ): Promise<FaultResultRow> {
    this.assertNodesAlive();
    await this.workload.stop();
    await this.workload.finalReads();
    this.monitor.stop();
    const checker = await this.client(this.nodes.map((n) => n.wsUrl));
    const lost = await findLostWrites(checker, this.board, this.history.acked, this.monitor.changes);
    const verdict = checkRecorded(this.history.ops, this.monitor, this.profile.checkTimeoutMs);
    const checks = { ...extra.checks, acknowledgedWritesInPlace: lost.misplaced.length === 0 };
    const registerOperations = this.history.ops.length;
    const row: FaultResultRow = {
      scenario: this.options.name,
      profile: this.profile.name,
      at: new Date().toISOString(),
      operations: registerOperations + (extra.domainOperations ?? 0),
      registerOperations,
      unknownOperations: this.history.unknown,
      errorCodes: Object.fromEntries(this.history.errors),
      faultsInjected: this.faults,
      faultEvidence: this.evidence,
      acknowledgedWritesLost: lost.lost.length,
      memoryWritesLostWithNewEpoch: lost.excused.length,
      epochsAnnounced: this.monitor.changes.length,
      linearizable: verdict.linearizable,
      checks,
      passed: false,
      durationMs: Math.round(performance.now() - this.started),
      checkMs: verdict.checkMs,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
    const problems = [...(extra.problems ?? [])];
    if (verdict.failure) {
      const context = extra.explain?.(verdict.failure);
      problems.push(`key ${verdict.failure.key ?? '?'}: ${verdict.failure.reason}${context ? ` (${context})` : ''}`);
    }
    if (lost.lost.length > 0) {
      const sample = lost.lost.slice(0, 5).map((w) => `${w.key}=${w.value} v${w.version} r${w.rev} (${w.durability})`);
      problems.push(`lost acknowledged writes: ${sample.join(', ')}`);
    }
    if (problems.length > 0) row.failure = problems.join('; ');
    row.passed =
      row.faultsInjected > 0 &&
      registerOperations >= this.profile.operations &&
      row.acknowledgedWritesLost === 0 &&
      row.linearizable === 'yes' &&
      Object.values(checks).every(Boolean);
    this.finished = true;
    appendResult(row);
    return row;
  }

  async cleanup(): Promise<void> {
    this.monitor?.stop();
    void this.workload?.stop();
    for (const sdk of this.sdks) sdk.close();
    for (const fn of this.cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  }
}
