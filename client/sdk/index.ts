export { BlackboardClient, type ClientOptions, type SearchResult, type SearchOptions } from './client.js';
export type { SubscriptionHandlers } from './requester.js';
export { ConnectionState, type SocketFactory, type SocketLike } from './connection.js';
export { Watch, type WatchChange, type WatchOptions, type ReplicaEntry } from './watch.js';
export { fullJitterDelay } from './backoff.js';
export { BlackboardError, ErrorCode } from '../../shared/protocol/errors.js';
export { CloseCode } from '../../shared/protocol/close-codes.js';
export type * from '../../shared/protocol/types.js';
export {
  TaskWorker,
  PermanentTaskError,
  TaskAbortedError,
  type TaskContext,
  type EnqueueOptions,
  type WorkOptions,
} from './worker.js';
export type { Fence, LockOptions, WithLockOptions, LockContext } from './locks.js';
export type { Requester } from './requester.js';
