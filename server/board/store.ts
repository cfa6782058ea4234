import { randomUUID } from 'node:crypto';
import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { RawJson } from '../../shared/protocol/json.js';
import { BOARDS_INDEX, boardKeys } from './keys.js';
import { parseRecord, toKeyRecord, type StoredRecord } from './records.js';
import { InFlightClock } from './inflight.js';
import { runScript, type RedisClient } from './scripts.js';
import type { KeyRecord } from '../../shared/protocol/types.js';

export type WriteShape = 'put' | 'patch' | 'delete' | 'txn';

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
  reqId?: string | undefined;
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

export interface FailedCompare {
  key: string;
  expected: number;
  actual: number;
  record: StoredRecord | null;
}

/** Thrown by commit for failed compares; handlers turn it into the wire CONFLICT. */
export class CompareFailed extends Error {
  constructor(readonly failed: FailedCompare[]) {
    super('compare failed');
  }
}

/** Decides how a board with no meta in Redis comes (back) to life. */
export interface BoardMaterializer {
  materialize(board: string): Promise<void>;
}

export interface BoardStoreOptions {
  retention: number;
  /** Whether a persister tracks a watermark (the stream is then never trimmed past it). */
  keepsHistory: boolean;
  /** Most revisions allowed above the persisted watermark before writes get UNAVAILABLE (0: no bound). */
  maxUnpersisted?: number;
}

export class BoardStore implements BoardMaterializer {
  materializer: BoardMaterializer = this;
  /** Commit script calls waiting for Redis (write admission watches the oldest). */
  readonly commits = new InFlightClock();
  /** Told of every revision this node commits (history uses it to know what Redis held). */
  onCommitted: ((board: string, rev: number) => void) | null = null;

  constructor(
    readonly redis: RedisClient,
    private readonly options: BoardStoreOptions,
  ) {}

  /** Creates the board's meta at revision `startRev` if it has none. */
  async createBoard(board: string, startRev = 0, epoch: string = randomUUID()): Promise<{ created: boolean; epoch: string }> {
    const keys = boardKeys(board);
    const reply = await runScript(this.redis, 'create-board-1', [keys.meta], [
      epoch,
      startRev,
      this.options.keepsHistory ? '1' : '0',
    ]);
    if (reply[0] === 1) await this.redis.zadd(BOARDS_INDEX, 'NX', 0, board);
    return { created: reply[0] === 1, epoch: String(reply[1]) };
  }

  async materialize(board: string): Promise<void> {
    await this.createBoard(board);
  }

  async commit(request: CommitRequest): Promise<CommitOutcome> {
    for (let attempt = 0; ; attempt++) {
      const reply = await this.runCommit(request);
      const status = reply[0];
      if (status === 1 || status === 2) {
        const resultText = String(reply[2]);
        // A repeated reqId returns the first result; its revision is the first "rev" in it.
        const rev = status === 1 ? Number(reply[1]) : Number(/"rev":(\d+)/.exec(resultText)?.[1] ?? 0);
        if (status === 1) this.onCommitted?.(request.board, rev);
        return { rev, resultText, duplicate: status === 2 };
      }
      if (status === -4 && attempt === 0) {
        await this.materializer.materialize(request.board);
        continue;
      }
      throw this.commitError(reply);
    }
  }

  private async runCommit(request: CommitRequest) {
    const keys = boardKeys(request.board);
    const args: Array<string | number> = [
      request.actorJson,
      request.reqId === undefined ? '0' : '1',
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

  private commitError(reply: Array<string | number | null>): Error {
    switch (reply[0]) {
      case -1: {
        const failed: FailedCompare[] = [];
        for (let i = 1; i + 3 < reply.length; i += 4) {
          failed.push({
            key: String(reply[i]),
            expected: Number(reply[i + 1]),
            actual: Number(reply[i + 2]),
            record: parseRecord(reply[i + 3] === null ? null : String(reply[i + 3])),
          });
        }
        return new CompareFailed(failed);
      }
      case -2:
        return new BlackboardError(ErrorCode.FENCED, 'the fencing token is not the current holder’s');
      case -3:
        return new BlackboardError(ErrorCode.NOT_FOUND, `key ${String(reply[1])} does not exist`, {
          key: String(reply[1]),
        });
      case -4:
        return new BlackboardError(ErrorCode.UNAVAILABLE, 'board state is being rebuilt; retry');
      case -5:
        return new BlackboardError(ErrorCode.UNAVAILABLE, 'too many revisions are waiting for Postgres; retry later', {
          limit: this.options.maxUnpersisted ?? 0,
        });
      default:
        return new BlackboardError(ErrorCode.INTERNAL, 'unexpected reply from the commit script');
    }
  }

  async read(board: string, key: string): Promise<{ rev: number; epoch: string; record: StoredRecord | null }> {
    const keys = boardKeys(board);
    const reply = await runScript(this.redis, 'read-2', [keys.meta, keys.kv], [key]);
    return { rev: Number(reply[0]), epoch: String(reply[1]), record: parseRecord(String(reply[2])) };
  }

  /** Keys by prefix (limit 0: all), with the revision they were read at, atomically. */
  async list(
    board: string,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ rev: number; epoch: string; more: boolean; items: KeyRecord<RawJson>[] }> {
    const keys = boardKeys(board);
    const reply = await runScript(this.redis, 'list-3', [keys.meta, keys.kv, keys.idx], [prefix, after ?? '', limit]);
    const items: KeyRecord<RawJson>[] = [];
    for (let i = 3; i + 1 < reply.length; i += 2) {
      const record = parseRecord(String(reply[i + 1]));
      if (record) items.push(toKeyRecord(String(reply[i]), record));
    }
    return { rev: Number(reply[0]), epoch: String(reply[1]), more: reply[2] === 1, items };
  }

  async boardState(board: string): Promise<{ rev: number; epoch: string; epochRev: number } | null> {
    const [rev, epoch, epochRev] = await this.redis.hmget(boardKeys(board).meta, 'rev', 'epoch', 'epochRev');
    if (rev === null || rev === undefined || !epoch) return null;
    return { rev: Number(rev), epoch, epochRev: Number(epochRev ?? 0) };
  }
}
