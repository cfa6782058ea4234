import { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
import { decodeServerFrame } from '../../shared/protocol/envelope.js';
import type { OpArgs, OpName, OpResult } from '../../shared/protocol/messages/index.js';
import type {
  BoardEvent,
  BoardsResult,
  DeleteResult,
  EnqueueResult,
  GetResult,
  HistoryResult,
  KeyRecord,
  ListResult,
  LockExtendResult,
  LockGrant,
  LockReleaseResult,
  PatchResult,
  PresenceClearResult,
  PresenceResult,
  PutResult,
  SchemaDefinition,
  SchemaListResult,
  SchemaSetResult,
  SubscribeResult,
  TaskInfo,
  TaskState,
  TxnResult,
} from '../../shared/protocol/types.js';
import { Connection, ConnectionState, type ConnectionOptions } from './connection.js';
import { RequestManager } from './requests.js';
import { iterateHistory, iterateList } from './pages.js';
import { Watch, type WatchChange, type WatchOptions } from './watch.js';
import { TaskWorker, type EnqueueOptions, type TaskHandler, type WorkOptions } from './worker.js';
import type { ClientCore, ClientEvent, Listener, SubscriptionHandlers } from './requester.js';
import {
  acquireLock,
  clearPresence,
  extendLock,
  releaseLock,
  setPresence,
  withLock,
  type LockContext,
  type LockOptions,
  type WithLockOptions,
} from './locks.js';

/** A `search` reply: ranked items with highlights, the revision the index held, and the cursor of the next page. */
export type SearchResult = OpResult<'search'>;
export type SearchOptions = Omit<OpArgs<'search'>, 'board' | 'query'>;

export interface ClientOptions extends ConnectionOptions {
  /** How long a request may wait for its reply, including time spent reconnecting. */
  requestTimeoutMs?: number;
  /** Resend reads and writes refused with RATE_LIMITED after the server's retryAfterMs (default true). */
  retryRateLimited?: boolean;
}

/** Ops that change nothing, or carry a reqId: safe to send again after a reconnect. */
const READ_OPS: ReadonlySet<string> = new Set(['get', 'list', 'history', 'boards', 'search', 'task.get', 'schema.get', 'schema.list']);
const WRITE_OPS: ReadonlySet<string> = new Set(['put', 'patch', 'delete', 'txn']);

function newReqId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * The Blackboard SDK. One client is one logical connection: it reconnects by itself,
 * resends what is safe to resend, and keeps `watch` replicas current across reconnects.
 */
export class BlackboardClient implements ClientCore {
  readonly connection: Connection;
  private readonly requests: RequestManager;
  private readonly subHandlers = new Map<string, SubscriptionHandlers>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly timeoutMs: number;
  private opened: Promise<void> | null = null;

  constructor(options: ClientOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.requests = new RequestManager((frame) => this.connection.send(frame), options.retryRateLimited ?? true);
    this.connection = new Connection(options, {
      open: () => {
        this.emit('open');
        this.requests.connectionOpened();
      },
      message: (text) => this.onMessage(text),
      close: (code, reason) => {
        this.subHandlers.clear();
        this.requests.connectionLost();
        this.emit('close', code, reason);
        if (this.connection.state === ConnectionState.Closed) {
          this.requests.failAll(new BlackboardError(ErrorCode.UNAVAILABLE, `connection closed (${code} ${reason})`));
        }
      },
      state: (state) => this.emit('state', state),
    });
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Opens the connection; resolves once connected the first time. */
  connect(): Promise<void> {
    this.opened ??= new Promise<void>((resolve) => {
      if (this.state === ConnectionState.Connected) return resolve();
      const onOpen = () => {
        this.off('open', onOpen);
        resolve();
      };
      this.on('open', onOpen);
      this.connection.open();
    });
    return this.opened;
  }

  close(): void {
    this.connection.close();
  }

  on(event: ClientEvent, listener: Listener): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
  }

  off(event: ClientEvent, listener: Listener): void {
    this.listeners.get(event)?.delete(listener);
  }

  private emit(event: ClientEvent, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }

  private onMessage(text: string): void {
    const frame = decodeServerFrame(text);
    if (frame === null) return;
    if (frame.kind === 'reply') {
      this.requests.handleReply(frame);
      return;
    }
    if (frame.push === 'events') this.subHandlers.get(frame.sub)?.events?.(frame.events);
    else if (frame.push === 'snapshot') this.subHandlers.get(frame.sub)?.snapshot?.(frame.items, frame.more);
    else if (frame.push === 'progress') this.subHandlers.get(frame.sub)?.progress?.(frame.rev);
    this.emit('push', frame);
  }

  /** Sends any op; writes get a reqId so that a resend after a reconnect is applied once. */
  request<Op extends OpName>(op: Op, args: OpArgs<Op>, onResult?: (result: OpResult<Op>) => void): Promise<OpResult<Op>> {
    const frameArgs = args as Record<string, unknown>;
    const write = WRITE_OPS.has(op);
    const reqId = write && frameArgs.reqId === undefined ? newReqId() : undefined;
    const resendable = write || READ_OPS.has(op);
    const sent = this.requests.send(
      op,
      frameArgs,
      {
        resendable,
        timeoutMs: this.timeoutMs,
        ...(onResult ? { onResult: (r: unknown) => onResult(r as OpResult<Op>) } : {}),
      },
      reqId,
    );
    // The reply is the server's answer to `op`: its shape is that op's OpResult.
    return sent as Promise<OpResult<Op>>;
  }

  get<V = unknown>(board: string, key: string, options: { atRev?: number } = {}): Promise<GetResult<V>> {
    return this.request('get', { board, key, ...options }) as Promise<GetResult<V>>;
  }

  /** The value of a key, or undefined when it does not exist. */
  async value<V = unknown>(board: string, key: string): Promise<V | undefined> {
    try {
      return (await this.get<V>(board, key)).value;
    } catch (err) {
      if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) return undefined;
      throw err;
    }
  }

  list<V = unknown>(board: string, prefix = '', options: Omit<OpArgs<'list'>, 'board' | 'prefix'> = {}): Promise<ListResult<V>> {
    return this.request('list', { board, prefix, ...options }) as Promise<ListResult<V>>;
  }

  /** Every key under `prefix`, following `more` from one page to the next (see pages.ts). */
  iterateList<V = unknown>(board: string, prefix = '', options: Omit<OpArgs<'list'>, 'board' | 'prefix'> = {}): AsyncGenerator<KeyRecord<V>, void, undefined> {
    return iterateList<V>(this, board, prefix, options);
  }

  put(board: string, key: string, value: unknown, options: Omit<OpArgs<'put'>, 'board' | 'key' | 'value'> = {}): Promise<PutResult> {
    return this.request('put', { board, key, value, ...options });
  }

  patch<V = unknown>(
    board: string,
    key: string,
    patch: OpArgs<'patch'>['patch'],
    options: Omit<OpArgs<'patch'>, 'board' | 'key' | 'patch'> = {},
  ): Promise<PatchResult<V>> {
    return this.request('patch', { board, key, patch, ...options }) as Promise<PatchResult<V>>;
  }

  delete(board: string, key: string, options: Omit<OpArgs<'delete'>, 'board' | 'key'> = {}): Promise<DeleteResult> {
    return this.request('delete', { board, key, ...options });
  }

  txn(board: string, txn: Omit<OpArgs<'txn'>, 'board'>): Promise<TxnResult> {
    return this.request('txn', { board, ...txn });
  }

  history(board: string, options: Omit<OpArgs<'history'>, 'board'> = {}): Promise<HistoryResult> {
    return this.request('history', { board, ...options }) as Promise<HistoryResult>;
  }

  /** Every event from `fromRev` to `toRev`, following `more` from one reply to the next (see pages.ts). */
  iterateHistory(board: string, options: Omit<OpArgs<'history'>, 'board'> = {}): AsyncGenerator<BoardEvent, void, undefined> {
    return iterateHistory(this, board, options);
  }

  /**
   * Full-text search of a board (web-search syntax: `"a phrase" -excluded or other`), one
   * page, best first; `after: result.next` gives the next. `minRev` (a revision you just
   * wrote) makes the search wait until the index holds it.
   */
  search(board: string, query: string, options: SearchOptions = {}): Promise<SearchResult> {
    return this.request('search', { board, query, ...options });
  }

  /** Boards this client may read, one page (`after`, `limit`, `more`). */
  boards(prefix?: string, options: Omit<OpArgs<'boards'>, 'prefix'> = {}): Promise<BoardsResult> {
    return this.request('boards', prefix === undefined ? options : { prefix, ...options });
  }

  /**
   * A raw subscription on the current socket. It ends with the socket; `watch` is the
   * form that resumes by itself.
   */
  subscribe(args: OpArgs<'subscribe'>, handlers: SubscriptionHandlers): Promise<SubscribeResult> {
    // The handler is registered with the reply itself, before any push that follows it.
    return this.request('subscribe', args, (result) => this.subHandlers.set(result.sub, handlers)) as Promise<SubscribeResult>;
  }

  async unsubscribe(sub: string): Promise<void> {
    this.subHandlers.delete(sub);
    await this.request('unsubscribe', { sub });
  }

  /** Keeps a local replica of the matching keys current, resuming after reconnects without gap or duplicate. */
  watch<V = unknown>(board: string, patterns: string[], onChange?: (change: WatchChange<V>) => void, options: WatchOptions = {}): Watch<V> {
    const watch = new Watch<V>(this, board, patterns, onChange, options);
    void this.connect();
    watch.start();
    return watch;
  }

  /**
   * Read-modify-write with compare-and-set, looping until it commits. `fn` gets the
   * current value (undefined if absent) and returns the next one.
   */
  async update<V = unknown>(
    board: string,
    key: string,
    fn: (current: V | undefined) => V,
    options: { maxAttempts?: number } = {},
  ): Promise<PutResult & { value: V }> {
    let current: { value: V | undefined; version: number };
    try {
      const got = await this.get<V>(board, key);
      current = { value: got.value, version: got.version };
    } catch (err) {
      if (!(err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND)) throw err;
      current = { value: undefined, version: 0 };
    }
    const maxAttempts = options.maxAttempts ?? 10_000;
    for (let attempt = 1; ; attempt++) {
      const next = fn(current.value);
      try {
        const result = await this.put(board, key, next, { ifVersion: current.version });
        return { ...result, value: next };
      } catch (err) {
        if (!(err instanceof BlackboardError && err.code === ErrorCode.CONFLICT) || attempt >= maxAttempts) throw err;
        // The conflict carries the current state: no extra read is needed.
        const now = err.details?.current as { version: number; value?: V } | undefined;
        current = { value: now?.version ? now.value : undefined, version: now?.version ?? 0 };
        if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, attempt * 2)));
      }
    }
  }

  // --- tasks ---

  /** Works a queue: `handler` runs for each task given to this client (see TaskWorker). Resolves once registered. */
  async work<D = unknown, R = unknown, C = unknown>(
    board: string,
    queue: string,
    handler: TaskHandler<D, R, C>,
    options: WorkOptions = {},
  ): Promise<TaskWorker<D, R, C>> {
    const worker = new TaskWorker<D, R, C>(this, board, queue, handler, options);
    await worker.start();
    return worker;
  }

  enqueue(board: string, queue: string, data: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.request('task.enqueue', { board, queue, data, ...options });
  }

  task<R = unknown, C = unknown>(board: string, taskId: string): Promise<TaskInfo<R, C>> {
    return this.request('task.get', { board, taskId }) as Promise<TaskInfo<R, C>>;
  }

  cancelTask(board: string, taskId: string): Promise<{ state: TaskState }> {
    return this.request('task.cancel', { board, taskId });
  }

  // --- locks and presence ---

  /** Takes a lock (waiting up to waitMs); its token fences writes. See `withLock` for the usual form. */
  acquireLock(board: string, name: string, options: LockOptions): Promise<LockGrant> {
    return acquireLock(this, board, name, options);
  }

  extendLock(board: string, name: string, token: number, ttlMs: number): Promise<LockExtendResult> {
    return extendLock(this, board, name, token, ttlMs);
  }

  releaseLock(board: string, name: string, token: number): Promise<LockReleaseResult> {
    return releaseLock(this, board, name, token);
  }

  /** Runs `fn` holding the lock, extended while it runs and released after (see locks.ts). */
  withLock<T>(board: string, name: string, fn: (lock: LockContext) => Promise<T> | T, options?: WithLockOptions): Promise<T> {
    return withLock(this, board, name, fn, options);
  }

  /** Shows this agent on the board as `$presence/<agent>` until cleared or disconnected. */
  presence(board: string, meta: unknown): Promise<PresenceResult> {
    return setPresence(this, board, meta);
  }

  clearPresence(board: string): Promise<PresenceClearResult> {
    return clearPresence(this, board);
  }

  // --- schemas ---

  /** Registers version `schemaVersion` of the JSON Schema for keys matching `pattern` (admin). */
  setSchema(
    board: string,
    pattern: string,
    schema: OpArgs<'schema.set'>['schema'],
    schemaVersion: number,
    options: Pick<OpArgs<'schema.set'>, 'migration'> = {},
  ): Promise<SchemaSetResult> {
    return this.request('schema.set', { board, pattern, schema, schemaVersion, ...options });
  }

  /** One registered version (default: the newest) of a pattern's schema. */
  getSchema(board: string, pattern: string, schemaVersion?: number): Promise<SchemaDefinition> {
    return this.request('schema.get', schemaVersion === undefined ? { board, pattern } : { board, pattern, schemaVersion });
  }

  /** The board's patterns with schemas, and the state of its background migration. */
  listSchemas(board: string): Promise<SchemaListResult> {
    return this.request('schema.list', { board });
  }

  /** A typed key's value migrated to `schemaVersion` (INVALID when no migration path leads there). */
  getAsVersion<V = unknown>(board: string, key: string, schemaVersion: number): Promise<GetResult<V> & { schemaVersion: number }> {
    return this.request('get', { board, key, schemaVersion }) as Promise<GetResult<V> & { schemaVersion: number }>;
  }
}
