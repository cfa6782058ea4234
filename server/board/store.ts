import { createHash, randomUUID } from 'node:crypto';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import type { RawJson } from '../../shared/protocol/json.js';
import { BOARDS_INDEX, GENESIS_KEY, boardKeys } from './keys.js';
import type { StoredRecord } from './records.js';
import { InFlightClock } from './inflight.js';
import { failureError, type ScriptFailure } from './script-failures.js';
import { revisionOf, runScript, type CommitResult, type RedisClient } from './scripts.js';
import type { KeyRecord } from '../../shared/protocol/types.js';

type WriteShape = 'put' | 'patch' | 'delete' | 'txn';

export interface WriteOp {
  kind: 'put' | 'patch' | 'delete';
  key: string;
  /** The new value as JSON text (put and patch). */
  valueText?: string;
  /** The RFC 6902 patch that produced it, as JSON text (patch only). */
  patchText?: string;
  /** The schema version the value conforms to (typed boards), recorded with it in the same script call. */
  schemaVersion?: number | undefined;
}

export interface Compare {
  key: string;
  version: number;
}

export interface CommitRequest {
  board: string;
  /** The writer's agent id, already JSON-encoded (it is spliced into events). */
  actorJson: string;
  /** The reqId record's name within the board, scoped to its agent (see `reqIdKey`). */
  reqId?: string | undefined;
  /** What identifies the request under that reqId (required with it; see `requestFingerprint`). */
  fingerprint?: string | undefined;
  fence?: { lock: string; token: number } | undefined;
  shape: WriteShape;
  compares: Compare[];
  ops: WriteOp[];
}

export interface CommitOutcome {
  rev: number;
  /** The reply's result, as JSON text built by the script. */
  resultText: string;
  /** True when a reqId was seen before and nothing was applied. */
  duplicate: boolean;
}

interface FailedCompare {
  key: string;
  expected: number;
  actual: number;
  record: StoredRecord | null;
}

/** How long a reqId record is kept (the commit script's `EX`). */
export const REQ_ID_TTL_MS = 600_000;

/** A reqId belongs to its agent: agents cannot see, or collide with, one another's. */
export function reqIdKey(agentId: string, reqId: string): string {
  // Agent ids never hold `|`, so the first one ends the agent part.
  return `${agentId}|${reqId}`;
}

export function reqIdConflict(reqId: string): BlackboardError {
  return new BlackboardError(ErrorCode.CONFLICT, `reqId ${reqId} was used for a different request`, { reason: 'reqId', reqId });
}

/** What the reqId record of an earlier request says about this one. */
type Recalled = { matches: true; rev: number; resultText: string } | { matches: false } | null;

/** Thrown by commit for failed compares; handlers turn it into the wire CONFLICT. */
export class CompareFailed extends Error {
  constructor(readonly failed: FailedCompare[]) {
    super('compare failed');
  }
}

/** Decides how a board with no meta in Redis comes (back) to life. */
export interface BoardMaterializer {
  /** Before a write: brings the board back if Redis lost it, else creates it. */
  materialize(board: string): Promise<void>;
  /**
   * Before a read: brings the board back if Redis lost it, and says whether it exists now.
   * Never creates one: reading, listing or subscribing creates nothing.
   */
  restore(board: string): Promise<boolean>;
}

interface BoardStoreOptions {
  retention: number;
  /** Whether a persister tracks a watermark (the stream is then never trimmed past it). */
  keepsHistory: boolean;
  /** Most revisions allowed above the persisted watermark before writes get UNAVAILABLE (0: no bound). */
  maxUnpersisted?: number;
}

export class BoardStore implements BoardMaterializer {
  /** Extensions that can bring a lost board back (history), asked in the order they registered. */
  private readonly materializers: BoardMaterializer[] = [];
  /** Commit script calls waiting for Redis (write admission watches the oldest). */
  readonly commits = new InFlightClock();
  /** Key records this node read through `list` and `read` (a figure for tests and operators). */
  readonly reads = { keys: 0 };
  /** Told of every revision this node commits (history uses it to know what Redis held). */
  private readonly committedHooks: Array<(board: string, rev: number) => void> = [];
  /** Materializations under way, by board. */
  private readonly materializing = new Map<string, Promise<void>>();

  constructor(
    readonly redis: RedisClient,
    readonly options: BoardStoreOptions,
  ) {}

  /**
   * The epoch a board starts with when it is first written. It is known before the board
   * exists (a subscriber to a board never written is told it, and keeps it across the
   * first write), and changes for every board when Redis loses its data (the marker it is
   * derived from goes with it), so a board created again after a loss is a new epoch.
   */
  async genesisEpoch(board: string): Promise<string> {
    let marker = await this.redis.get(GENESIS_KEY);
    if (marker === null) {
      await this.redis.set(GENESIS_KEY, randomUUID(), 'NX');
      marker = await this.redis.get(GENESIS_KEY);
      if (marker === null) throw new BlackboardError(ErrorCode.UNAVAILABLE, 'Redis lost the epoch marker while it was written; retry');
    }
    const hex = createHash('sha256').update(`${marker}\n${board}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  /** Creates the board's meta at revision `startRev` if it has none. */
  async createBoard(board: string, startRev = 0, epoch?: string): Promise<{ created: boolean; epoch: string }> {
    epoch ??= await this.genesisEpoch(board);
    const keys = boardKeys(board);
    const result = await runScript(this.redis, 'create-board-1', [keys.meta], [epoch, startRev, this.options.keepsHistory ? '1' : '0']);
    if (result.created) await this.redis.zadd(BOARDS_INDEX, 'NX', 0, board);
    return result;
  }

  /** Registers a hook told of every revision this node commits. */
  onCommitted(hook: (board: string, rev: number) => void): void {
    this.committedHooks.push(hook);
  }

  /** Tells the hooks that `rev` of `board` was committed here (the commit script, lock expiries...). */
  noteCommitted(board: string, rev: number): void {
    for (const hook of this.committedHooks) hook(board, rev);
  }

  /** Registers a way to bring lost boards back; without one a board without meta is created afresh. */
  addMaterializer(materializer: BoardMaterializer): void {
    this.materializers.push(materializer);
  }

  /**
   * Creates a board without meta, or rebuilds it from history. Writes that find the board
   * missing at the same moment (the first burst of writes to a new board) share one: each
   * would otherwise ask Postgres and create the board again.
   */
  materialize(board: string): Promise<void> {
    const running = this.materializing.get(board);
    if (running) return running;
    const started = this.materializeNow(board).finally(() => this.materializing.delete(board));
    this.materializing.set(board, started);
    return started;
  }

  private async materializeNow(board: string): Promise<void> {
    if (this.materializers.length === 0) await this.createBoard(board);
    for (const m of this.materializers) await m.materialize(board);
  }

  /** Without history nothing can bring a lost board back: a board without meta does not exist. */
  async restore(board: string): Promise<boolean> {
    for (const m of this.materializers) if (await m.restore(board)) return true;
    return false;
  }

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    for (let attempt = 0; ; attempt++) {
      const result = await this.runCommit(request);
      if (result.ok) {
        if (!result.duplicate) this.noteCommitted(request.board, result.rev);
        return result;
      }
      if (result.failure === 'noMeta' && attempt === 0) {
        await this.materialize(request.board);
        continue;
      }
      throw this.commitError(result, request);
    }
  }

  private async runCommit(request: CommitRequest): Promise<CommitResult> {
    const keys = boardKeys(request.board);
    if (request.reqId !== undefined && !request.fingerprint) throw new Error('a reqId needs the fingerprint of its request');
    const args: Array<string | number> = [
      request.actorJson,
      request.reqId === undefined ? '0' : request.fingerprint!,
      request.fence?.lock ?? '',
      request.fence?.token ?? 0,
      request.shape,
      this.options.retention,
      keys.channel,
      request.compares.length,
    ];
    for (const c of request.compares) args.push(c.key, c.version);
    args.push(request.ops.length);
    for (const op of request.ops) {
      args.push(op.kind, op.key, JSON.stringify(op.key), op.valueText ?? '', op.patchText ?? '');
    }
    // Typed keys record their schema version; a delete clears what its key recorded.
    if (request.ops.some((op) => op.schemaVersion !== undefined || op.kind === 'delete')) {
      args.push(keys.schemaVersions, ...request.ops.map((op) => op.schemaVersion ?? ''));
    }
    args.push(this.options.maxUnpersisted ?? 0);
    const reqKey = keys.req(request.reqId ?? '');
    const ticket = this.commits.begin();
    try {
      return await runScript(this.redis, 'commit-6', [keys.meta, keys.kv, keys.idx, keys.log, reqKey, keys.locks], args);
    } finally {
      this.commits.end(ticket);
    }
  }

  private commitError(failure: Exclude<CommitResult, { ok: true }>, request: CommitRequest): Error {
    switch (failure.failure) {
      case 'compareFailed':
        return new CompareFailed([...failure.failed]);
      case 'reqIdReused':
        return reqIdConflict(request.reqId?.slice(request.reqId.indexOf('|') + 1) ?? '');
      case 'backlog':
        return failureError(failure, undefined, { limit: this.options.maxUnpersisted ?? 0 });
      default:
        return failureError(failure as ScriptFailure);
    }
  }

  /**
   * The record of an earlier request with this reqId, for a write that failed a check made
   * before its commit (a version, a patch path): if the first try committed, its result stands.
   */
  async recall(board: string, reqId: string, fingerprint: string): Promise<Recalled> {
    const first = await this.redis.get(boardKeys(board).req(reqId));
    if (first === null) return null;
    const cut = first.indexOf('\n');
    if (cut === -1 || first.slice(0, cut) !== fingerprint) return { matches: false };
    const resultText = first.slice(cut + 1);
    return { matches: true, rev: revisionOf(resultText), resultText };
  }

  async read(board: string, key: string): Promise<{ rev: number; epoch: string; record: StoredRecord | null }> {
    const keys = boardKeys(board);
    const result = await runScript(this.redis, 'read-2', [keys.meta, keys.kv], [key]);
    this.reads.keys++;
    return result;
  }

  /**
   * Up to `limit` keys by prefix, with the revision they were read at, atomically: one
   * bounded page. With `maxBytes`, the page ends early (more: true) once its records
   * reach that size, holding at least one.
   */
  async list(
    board: string,
    prefix: string,
    after: string | undefined,
    limit: number,
    maxBytes = 0,
  ): Promise<{ rev: number; epoch: string; more: boolean; items: KeyRecord<RawJson>[] }> {
    if (!(limit >= 1)) throw new Error('list reads pages of at least one key');
    const keys = boardKeys(board);
    const { rev, epoch, more, items, read } = await runScript(this.redis, 'list-3', [keys.meta, keys.kv, keys.idx], [prefix, after ?? '', limit, maxBytes]);
    this.reads.keys += read;
    return { rev, epoch, more, items };
  }

  async boardState(board: string): Promise<{ rev: number; epoch: string; epochRev: number } | null> {
    const [rev, epoch, epochRev] = await this.redis.hmget(boardKeys(board).meta, 'rev', 'epoch', 'epochRev');
    if (rev === null || rev === undefined || !epoch) return null;
    return { rev: Number(rev), epoch, epochRev: Number(epochRev ?? 0) };
  }
}
