// Wing & Gong's linearization search with Lowe's improvements, as in porcupine.
//
// Call and return events of the known operations sit in one time-ordered list
// (pending-events.ts). The search walks it from the front: a call is a
// candidate to linearize next; reaching a return means an operation's deadline
// passed before it was linearized, so the last choice is undone. Operations of
// unknown outcome never return; they sit in a second list and are tried only
// after every known candidate, so explanations in which fewer of them took
// effect come first. Recursion is an explicit typed-array stack: a history of
// 2,000 operations can be 2,000 frames deep.
//
// Lowe's memo (explored-configurations.ts) makes each (linearized set, state)
// configuration explored once. On top of it, the search only looks for one
// canonical kind of linearization, which exists whenever any does:
// - Read-only operations go as early as they can. Moving a read to the front
//   of any completion keeps it valid, so one that fits is taken without
//   branching: many concurrent reads no longer multiply into 2^k subsets.
// - Among interchangeable unknown operations (same symmetry class), the
//   earliest called is used first.
// - Unknown operations that took effect form minimal blocks right before the
//   known operation that needs them. Pushing them later, up to the next known
//   operation, is always allowed (they never return), and a block whose effect
//   that operation would erase anyway (a delete) can be dropped as "never
//   happened". The model may prune further (SearchModel.blockCanServe).

import { ExploredConfigurations } from './explored-configurations.js';
import { END, PendingEvents, type TimedOperation } from './pending-events.js';

export interface SearchableOperation extends TimedOperation {
  /** Never changes the state when it can be linearized (a read, a reported CAS conflict). */
  readonly readOnly: boolean;
  /** Interchangeable operations share a class (>= 0) and are only linearized by ascending rank; -1 opts out. */
  readonly symmetryClass: number;
  readonly rankInClass: number;
}

/** The sequential specification the history is checked against, over states packed into numbers >= 0. */
export interface SearchModel<Operation> {
  readonly initialState: number;
  /** The state after `operation`, or CANNOT_LINEARIZE if it cannot take effect in `state` with its observed outcome. */
  step(operation: Operation, state: number): number;
  /**
   * Optional pruning: could a block of unknown operations that began in
   * `blockStart` and has reached `state` still be what the known operation
   * `known` needs? Returning true is always safe.
   */
  blockCanServe?(blockStart: number, state: number, known: Operation): boolean;
}

export const CANNOT_LINEARIZE = -1;

export type SearchVerdict = 'linearizable' | 'violation' | 'timeout';

export interface SearchOutcome {
  readonly verdict: SearchVerdict;
  /**
   * The latest time T such that some explored configuration had linearized
   * every known operation returning before T. That configuration, cut there,
   * linearizes the history's prefix up to T, so a violation lies at or after it.
   */
  readonly frontier: number;
}

const DEADLINE_CHECK_INTERVAL = 4096;

export function searchForLinearization<Operation extends SearchableOperation>(
  operations: readonly Operation[],
  model: SearchModel<Operation>,
  deadline: number,
): SearchOutcome {
  const count = operations.length;
  const events = new PendingEvents(operations);
  const explored = new ExploredConfigurations(operations.map((operation) => operation.known));
  const linearizedInClass = new Int32Array(operations.reduce((most, operation) => Math.max(most, operation.symmetryClass + 1), 0));
  const inTurn = (operation: Operation): boolean => operation.symmetryClass < 0 || linearizedInClass[operation.symmetryClass] === operation.rankInClass;

  // The explicit recursion stack: which operation was linearized, the state
  // before it, whether it was forced (no alternatives worth trying), the window
  // an unknown operation was picked from, and the state where the current block
  // of unknown operations began.
  const stackOperation = new Int32Array(count);
  const stackState = new Float64Array(count);
  const stackForced = new Uint8Array(count);
  const stackWindowEnd = new Float64Array(count);
  const stackBlockStart = new Float64Array(count);
  let depth = 0;
  let state = model.initialState;
  let knownRemaining = operations.filter((operation) => operation.known).length;
  const topIsUnknown = (): boolean => depth > 0 && !operations[stackOperation[depth - 1]!]!.known;
  const blockStart = (): number => (topIsUnknown() ? stackBlockStart[depth - 1]! : state);

  // Walk position: a node of the known list, or (once its window is exhausted)
  // an unknown operation called no later than `windowEnd`.
  let inUnknownPhase = false;
  let node = events.first();
  let unknownCursor = END;
  let windowEnd = 0;
  let lookForForcedMove = true;
  let frontier = -Infinity;

  const push = (index: number, nextState: number, forced: boolean): void => {
    const operation = operations[index]!;
    if (operation.symmetryClass >= 0) linearizedInClass[operation.symmetryClass]!++;
    if (operation.known) knownRemaining--;
    stackBlockStart[depth] = blockStart();
    stackOperation[depth] = index;
    stackState[depth] = state;
    stackForced[depth] = forced ? 1 : 0;
    stackWindowEnd[depth] = windowEnd;
    depth++;
    state = nextState;
    events.remove(index);
    lookForForcedMove = true;
  };
  /** Undoes choices up to and including the latest real one and resumes the walk after it; false if none is left. */
  const backtrack = (): boolean => {
    while (depth > 0) {
      depth--;
      const index = stackOperation[depth]!;
      const operation = operations[index]!;
      state = stackState[depth]!;
      explored.abandon(index);
      if (operation.symmetryClass >= 0) linearizedInClass[operation.symmetryClass]!--;
      if (operation.known) knownRemaining++;
      events.restore(index);
      if (stackForced[depth] === 1) continue;
      inUnknownPhase = !operation.known;
      if (operation.known) node = events.nextNode(PendingEvents.callNode(index));
      else [unknownCursor, windowEnd] = [events.nextUnknown(index), stackWindowEnd[depth]!];
      return true;
    }
    return false;
  };
  /** An unknown block right before `operation` that it would erase anyway: the order without the block is explored too. */
  const erasesUnknownBlock = (operation: Operation, nextState: number): boolean => topIsUnknown() && model.step(operation, blockStart()) === nextState;
  const servesSomeKnownOperation = (nextState: number): boolean => {
    const canServe = model.blockCanServe?.bind(model);
    if (canServe === undefined) return true;
    const start = blockStart();
    return events.firstCallInWindow((index) => canServe(start, nextState, operations[index]!)) !== END;
  };
  const tryLinearize = (index: number): boolean => {
    const operation = operations[index]!;
    const nextState = inTurn(operation) ? model.step(operation, state) : CANNOT_LINEARIZE;
    if (nextState < 0 || erasesUnknownBlock(operation, nextState)) return false;
    if (!operation.known && !servesSomeKnownOperation(nextState)) return false;
    if (!explored.addIfUnexplored(index, nextState)) return false;
    push(index, nextState, false);
    return true;
  };

  let iterations = 0;
  while (knownRemaining > 0) {
    if (++iterations % DEADLINE_CHECK_INTERVAL === 0 && performance.now() > deadline) return { verdict: 'timeout', frontier };
    if (lookForForcedMove) {
      lookForForcedMove = false;
      const forced = events.firstCallInWindow((index) => {
        const operation = operations[index]!;
        return operation.readOnly && inTurn(operation) && model.step(operation, state) >= 0;
      });
      if (forced !== END) {
        // If the forced configuration failed before (reached another way), so does this one.
        if (explored.addIfUnexplored(forced, state)) push(forced, state, true);
        else if (!backtrack()) return { verdict: 'violation', frontier };
        continue;
      }
      inUnknownPhase = false;
      node = events.first();
    }
    if (!inUnknownPhase) {
      // Known operations return before unknown ones (at infinity), so while any
      // remain the walk meets a return before running off the end.
      if (node === END) throw new Error('linearizability search ran past the last event');
      if (!PendingEvents.isReturnNode(node)) {
        if (!tryLinearize(PendingEvents.operationOf(node))) node = events.nextNode(node);
        continue;
      }
      inUnknownPhase = true;
      windowEnd = operations[PendingEvents.operationOf(node)]!.ret;
      frontier = Math.max(frontier, windowEnd);
      unknownCursor = events.firstUnknown();
      continue;
    }
    if (unknownCursor !== END && operations[unknownCursor]!.call <= windowEnd) {
      if (!tryLinearize(unknownCursor)) unknownCursor = events.nextUnknown(unknownCursor);
      continue;
    }
    // Nothing else fits before the earliest pending return: this path is dead.
    if (!backtrack()) return { verdict: 'violation', frontier };
  }
  return { verdict: 'linearizable', frontier: Infinity };
}
