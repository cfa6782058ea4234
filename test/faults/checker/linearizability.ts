// Linearizability checker for Blackboard's keys, modelled as versioned registers.
//
// Why a versioned register: every key carries a version that each successful
// write raises by one (0 = absent, and a delete returns it to 0), and writers
// race through compare-and-set on that version. Clients see the version in
// every answer, so the model can pin each write to its place in the order
// instead of guessing which of several identical values a read saw; that keeps
// the search narrow and the verdicts sharp (a CAS that "won" twice on one
// version is caught even when the values look plausible). Values are compared
// as strings; serialise JSON first.
//
// Why operations can be "unknown": under fault injection requests time out and
// connections drop. Such an operation is kept pending until the end of the
// history (its return is at infinity): it may have taken effect at any moment
// after its call, or never, and the checker must accept both. Unknown reads
// constrain nothing and are dropped.
//
// Why keys are checked one at a time: linearizability is compositional
// (Herlihy & Wing's locality, porcupine's P-compositionality), so a history is
// linearizable iff each key's sub-history is. Splitting turns one search that
// is exponential in the total concurrency into many small ones.
//
// Why a timeout: the problem is NP-complete. On a timeout the answer is
// `ok: true, partial: true`: no violation was found, but nothing was proven
// either; callers that need a proof must treat `partial` as a failure.
//
// How the search stays fast (search.ts and its helpers): Lowe's memo of
// explored (set, state) configurations; reads and reported conflicts taken
// without branching whenever they fit; interchangeable timed-out writes taken
// in call order only; unknown writes kept off versions that known operations
// already account for.
//
// Limits: timestamps must come from one monotonic clock (a single process, or
// clocks whose skew is below the precision you rely on); equal timestamps count
// as concurrent. A delete of a missing key must be reported as `ok: false`
// (Blackboard's NOT_FOUND). Deletes make version numbers recur, which disables
// the version-based pruning: histories with frequent deletes of one key under
// high concurrency and many timeouts can exhaust the time budget.

import { compileRegisterHistory, hasKnownOutcome, type RegisterOperation, type RegisterState } from './register-model.js';
import { searchForLinearization, type SearchOutcome } from './search.js';

export type {
  CasOperation,
  CasOutput,
  DeleteOperation,
  ReadOperation,
  RegisterOperation,
  RegisterState,
  WriteOperation,
} from './register-model.js';

export interface CheckOptions {
  /** Budget for the whole check, including the hunt for a minimal failing prefix. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface LinearizabilityFailure {
  readonly key: string | undefined;
  readonly reason: string;
  /**
   * The operation whose result could not be explained: the last to return in
   * `minimalPrefix`, or a read of a value nobody wrote.
   */
  readonly culprit?: RegisterOperation;
  /**
   * The operations called up to the culprit's return: the shortest prefix of the
   * history that is already not linearizable. Operations in it that returned
   * after the culprit are treated as pending. Absent if finding it ran out of time.
   */
  readonly minimalPrefix?: readonly RegisterOperation[];
}

export interface LinearizabilityResult {
  readonly ok: boolean;
  /** Operations with an unknown outcome (no response): they may or may not have taken effect. */
  readonly unknownOps: number;
  /** Operations whose observed outcome was checked against the model. */
  readonly checkedOps: number;
  /** The time budget ran out before a verdict: `ok` then only means "no violation found". */
  readonly partial?: boolean;
  readonly failure?: LinearizabilityFailure;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Checks the history of a single key (all operations must share one `key`, or have none). */
export function checkHistory(ops: readonly RegisterOperation[], options: CheckOptions = {}): LinearizabilityResult {
  const keys = new Set(ops.map((operation) => operation.key));
  if (keys.size > 1) {
    throw new TypeError(`checkHistory got operations on ${keys.size} keys; use checkKeyedHistory to check them separately`);
  }
  return checkOneKey(ops, ops[0]?.key, deadlineAfter(options));
}

export interface KeyedLinearizabilityResult extends LinearizabilityResult {
  readonly keys: number;
}

/**
 * Splits the history by `key` and checks each key independently, sharing one
 * time budget. Stops at the first key that is not linearizable.
 */
export function checkKeyedHistory(ops: readonly RegisterOperation[], options: CheckOptions = {}): KeyedLinearizabilityResult {
  const deadline = deadlineAfter(options);
  const byKey = new Map<string | undefined, RegisterOperation[]>();
  for (const operation of ops) {
    const bucket = byKey.get(operation.key);
    if (bucket === undefined) byKey.set(operation.key, [operation]);
    else bucket.push(operation);
  }
  let unknownOps = 0;
  let checkedOps = 0;
  let partial = false;
  for (const [key, keyOps] of byKey) {
    const result = checkOneKey(keyOps, key, deadline);
    unknownOps += result.unknownOps;
    checkedOps += result.checkedOps;
    partial ||= result.partial === true;
    const summary = { unknownOps, checkedOps, keys: byKey.size, ...(partial && { partial }) };
    if (!result.ok) return { ok: false, ...summary, failure: result.failure };
  }
  return { ok: true, unknownOps, checkedOps, keys: byKey.size, ...(partial && { partial }) };
}

function deadlineAfter(options: CheckOptions): number {
  return performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
}

function checkOneKey(ops: readonly RegisterOperation[], key: string | undefined, deadline: number): LinearizabilityResult {
  const checkedOps = ops.filter(hasKnownOutcome).length;
  const counts = { unknownOps: ops.length - checkedOps, checkedOps };
  const { verdict, frontier } = checkPrefix(ops, Infinity, deadline);
  if (verdict === 'linearizable') return { ok: true, ...counts };
  if (verdict === 'timeout') return { ok: true, partial: true, ...counts };
  return { ok: false, ...counts, failure: explainViolation(ops, key, frontier, deadline) };
}

function checkPrefix(ops: readonly RegisterOperation[], cutTime: number, deadline: number): SearchOutcome {
  const history = compileRegisterHistory(ops, cutTime);
  if (history.readOfUnwrittenValue !== undefined) return { verdict: 'violation', frontier: -Infinity };
  return searchForLinearization(history.operations, history.model, deadline);
}

/**
 * Linearizability is prefix-closed, so "is the prefix up to the k-th return
 * linearizable?" flips exactly once as k grows, and the failed search already
 * proved every prefix ending before its frontier linearizable. The culprit is
 * usually the first return at the frontier, so that is tried first, then a
 * binary search covers the rest.
 */
function explainViolation(ops: readonly RegisterOperation[], key: string | undefined, frontier: number, deadline: number): LinearizabilityFailure {
  const unwritten = compileRegisterHistory(ops).readOfUnwrittenValue;
  if (unwritten !== undefined) {
    const value = JSON.stringify(unwritten.output?.value);
    return { key, culprit: unwritten, reason: `${describe(unwritten)} observed value ${value}, which no operation wrote` };
  }
  const knownByReturn = ops.filter(hasKnownOutcome).sort((a, b) => (a.ret ?? Infinity) - (b.ret ?? Infinity));
  const violates = (prefixLength: number): boolean | 'timeout' => {
    const { verdict } = checkPrefix(ops, knownByReturn[prefixLength - 1]?.ret ?? Infinity, deadline);
    return verdict === 'timeout' ? verdict : verdict === 'violation';
  };
  let low = Math.max(1, knownByReturn.filter((operation) => (operation.ret ?? Infinity) < frontier).length + 1);
  let high = knownByReturn.length; // the whole history (every known return included) is not linearizable
  let probe = low;
  while (low < high) {
    const verdict = violates(probe);
    if (verdict === 'timeout') return { key, reason: 'no linearization exists (ran out of time while locating the violation)' };
    if (verdict) high = probe;
    else low = probe + 1;
    probe = (low + high) >> 1;
  }
  const culprit = knownByReturn[high - 1];
  if (culprit === undefined) return { key, reason: 'no linearization exists' };
  const cutTime = culprit.ret ?? Infinity;
  const minimalPrefix = ops.filter((operation) => operation.call <= cutTime);
  const reason =
    `${describe(culprit)} cannot be explained: no order of the ${minimalPrefix.length} operations ` +
    `called before it returned, consistent with their real-time order, produces that result`;
  return { key, culprit, minimalPrefix, reason };
}

function describe(operation: RegisterOperation): string {
  const when = `over [${operation.call}, ${operation.ret ?? '?'}]`;
  const by = `by client ${operation.client}`;
  switch (operation.op) {
    case 'read':
      return `read ${by} ${when} → ${formatState(operation.output)}`;
    case 'write':
      return `write(${JSON.stringify(operation.input.value)}) ${by} ${when} → ${JSON.stringify(operation.output)}`;
    case 'cas':
      return `cas(ifVersion ${operation.input.ifVersion}, ${JSON.stringify(operation.input.value)}) ` + `${by} ${when} → ${JSON.stringify(operation.output)}`;
    case 'delete':
      return `delete ${by} ${when} → ${JSON.stringify(operation.output)}`;
  }
}

function formatState(state: RegisterState | undefined): string {
  return state === undefined ? 'unknown' : `{version ${state.version}, value ${JSON.stringify(state.value)}}`;
}
