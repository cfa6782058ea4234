// Wing & Gong's linearization search with Lowe's improvements, as in porcupine.
//
// Call and return events sit in one time-ordered doubly linked list. The
// search walks it from the front: a call is a candidate to linearize next (its
// operation may take effect now); reaching a return means an operation's
// deadline passed before it was linearized, so the last choice is undone.
// Linearizing an operation unlinks both its events, so the front of the list
// is always the earliest unresolved event.
//
// Lowe's memoisation is what makes this usable: two search paths that have
// linearized the same set of operations and reached the same model state have
// the same future, so each (set, state) pair is explored at most once. Sets are
// bitsets over operation indices with an incrementally maintained Zobrist hash,
// so hashing a configuration costs O(1) rather than O(n).
//
// Recursion is replaced by an explicit stack: a 2,000-operation history can be
// 2,000 frames deep, and typed-array stacks avoid per-frame allocation.

export interface SearchableOperation {
  readonly call: number;
  /** Infinity for operations whose outcome is unknown. */
  readonly ret: number;
  /** The search succeeds once every known operation is linearized; unknown ones may never have happened. */
  readonly known: boolean;
}

/** Returns the state after `operation`, or a negative number if it cannot take effect in `state`. */
export type StepFunction<Operation> = (operation: Operation, state: number) => number;

export type SearchVerdict = 'linearizable' | 'violation' | 'timeout';

const HEAD = 0;
const END = -1;
const DEADLINE_CHECK_INTERVAL = 4096;

export function searchForLinearization<Operation extends SearchableOperation>(
  operations: readonly Operation[],
  initialState: number,
  step: StepFunction<Operation>,
  deadline: number,
): SearchVerdict {
  const count = operations.length;
  // Node 0 is the list head; operation i owns call node 2i+1 and return node 2i+2.
  const callNode = (index: number): number => 2 * index + 1;
  const next = new Int32Array(2 * count + 1).fill(END);
  const prev = new Int32Array(2 * count + 1).fill(END);
  linkInTimeOrder(operations, next, prev);

  const unlink = (node: number): void => {
    const before = prev[node]!;
    const after = next[node]!;
    next[before] = after;
    if (after !== END) prev[after] = before;
  };
  const relink = (node: number): void => {
    const before = prev[node]!;
    const after = next[node]!;
    next[before] = node;
    if (after !== END) prev[after] = node;
  };

  const linearized = new LinearizedSet(count);
  const stackOperation = new Int32Array(count);
  const stackState = new Float64Array(count);
  let depth = 0;
  let state = initialState;
  let knownRemaining = operations.reduce((total, operation) => total + (operation.known ? 1 : 0), 0);
  let iterations = 0;
  let node = next[HEAD]!;

  while (knownRemaining > 0) {
    if (++iterations % DEADLINE_CHECK_INTERVAL === 0 && performance.now() > deadline) return 'timeout';
    // Unknown operations return at infinity, after every known return, so the walk
    // meets a known return before running off the end while any remain.
    if (node === END) throw new Error('linearizability search ran past the last event');
    const isCall = node % 2 === 1;
    if (isCall) {
      const index = (node - 1) / 2;
      const operation = operations[index]!;
      const nextState = step(operation, state);
      if (nextState >= 0 && linearized.addIfUnseen(index, nextState)) {
        stackOperation[depth] = index;
        stackState[depth] = state;
        depth++;
        state = nextState;
        if (operation.known) knownRemaining--;
        unlink(node);
        unlink(node + 1);
        node = next[HEAD]!;
        continue;
      }
      node = next[node]!;
      continue;
    }
    // A return whose operation is not yet linearized: this path is dead, undo the latest choice.
    if (depth === 0) return 'violation';
    depth--;
    const index = stackOperation[depth]!;
    state = stackState[depth]!;
    linearized.remove(index);
    if (operations[index]!.known) knownRemaining++;
    relink(callNode(index) + 1);
    relink(callNode(index));
    node = next[callNode(index)]!;
  }
  return 'linearizable';
}

function linkInTimeOrder(operations: readonly SearchableOperation[], next: Int32Array, prev: Int32Array): void {
  const nodes: number[] = [];
  for (let index = 0; index < operations.length; index++) nodes.push(2 * index + 1, 2 * index + 2);
  const time = (node: number): number => {
    const operation = operations[(node - 1) >> 1]!;
    return node % 2 === 1 ? operation.call : operation.ret;
  };
  // On equal timestamps calls go first: the two operations are then treated as
  // concurrent, which can only hide a violation, never invent one.
  nodes.sort((a, b) => time(a) - time(b) || (b % 2) - (a % 2) || a - b);
  let previous = HEAD;
  for (const node of nodes) {
    next[previous] = node;
    prev[node] = previous;
    previous = node;
  }
}

interface CachedConfiguration {
  readonly bits: Uint32Array;
  readonly state: number;
}

/** The set of linearized operations plus the memo of every (set, state) pair already explored. */
class LinearizedSet {
  private readonly bits: Uint32Array;
  private readonly zobristLow: Int32Array;
  private readonly zobristHigh: Int32Array;
  private hashLow = 0;
  private hashHigh = 0;
  private readonly explored = new Map<number, CachedConfiguration[]>();

  constructor(size: number) {
    this.bits = new Uint32Array(Math.ceil(size / 32));
    this.zobristLow = new Int32Array(size);
    this.zobristHigh = new Int32Array(size);
    // A fixed seed keeps runs reproducible; the hash only has to spread, not resist attack.
    const random = mulberry32(0x5eed);
    for (let index = 0; index < size; index++) {
      this.zobristLow[index] = random();
      this.zobristHigh[index] = random();
    }
  }

  /** Adds `index`, entering `state`, unless that configuration was explored before (then nothing changes). */
  addIfUnseen(index: number, state: number): boolean {
    this.toggle(index);
    const key = this.cacheKey(state);
    const bucket = this.explored.get(key);
    if (bucket === undefined) {
      this.explored.set(key, [{ bits: this.bits.slice(), state }]);
      return true;
    }
    for (const configuration of bucket) {
      if (configuration.state === state && equalBits(configuration.bits, this.bits)) {
        this.toggle(index);
        return false;
      }
    }
    bucket.push({ bits: this.bits.slice(), state });
    return true;
  }

  remove(index: number): void {
    this.toggle(index);
  }

  private toggle(index: number): void {
    this.bits[index >>> 5]! ^= 1 << (index & 31);
    this.hashLow ^= this.zobristLow[index]!;
    this.hashHigh ^= this.zobristHigh[index]!;
  }

  /** 53 bits of (set hash mixed with state), so it can be an exact Map key. */
  private cacheKey(state: number): number {
    const stateLow = Math.imul(state >>> 0, 0x9e3779b1);
    const stateHigh = Math.imul(Math.floor(state / 0x100000000) >>> 0, 0x85ebca6b) ^ (stateLow >>> 15);
    const low = (this.hashLow ^ stateLow) >>> 0;
    const high = (this.hashHigh ^ stateHigh) & 0x1fffff;
    return high * 0x100000000 + low;
  }
}

function equalBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let word = 0; word < a.length; word++) if (a[word] !== b[word]) return false;
  return true;
}

/** Small seeded PRNG yielding signed 32-bit integers. */
function mulberry32(seed: number): () => number {
  let current = seed | 0;
  return () => {
    current = (current + 0x6d2b79f5) | 0;
    let mixed = Math.imul(current ^ (current >>> 15), 1 | current);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return mixed ^ (mixed >>> 14);
  };
}
