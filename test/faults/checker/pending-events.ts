// The pending operations of a linearization search, as dancing-links lists:
// known operations as call and return events in time order (operation i owns
// nodes 2i+1 and 2i+2, node 0 is the head), unknown operations, which never
// return, by call time. Removals are undone in exact reverse order, which is
// all a depth-first search needs, and each costs O(1).

export interface TimedOperation {
  readonly call: number;
  /** Infinity for operations whose outcome is unknown. */
  readonly ret: number;
  readonly known: boolean;
}

export const END = -1;
const HEAD = 0;

export class PendingEvents {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly nextUnknownOf: Int32Array;
  private readonly prevUnknownOf: Int32Array;
  /** Index of the unknown list's head sentinel. */
  private readonly unknownHead: number;

  static callNode(index: number): number {
    return 2 * index + 1;
  }
  static isReturnNode(node: number): boolean {
    return node % 2 === 0;
  }
  static operationOf(node: number): number {
    return (node - 1) >> 1;
  }

  constructor(private readonly operations: readonly TimedOperation[]) {
    const count = operations.length;
    this.next = new Int32Array(2 * count + 1).fill(END);
    this.prev = new Int32Array(2 * count + 1).fill(END);
    this.unknownHead = count;
    this.nextUnknownOf = new Int32Array(count + 1).fill(END);
    this.prevUnknownOf = new Int32Array(count + 1).fill(END);
    const time = (node: number): number => {
      const operation = operations[PendingEvents.operationOf(node)]!;
      return PendingEvents.isReturnNode(node) ? operation.ret : operation.call;
    };
    const knownNodes: number[] = [];
    const unknown: number[] = [];
    operations.forEach((operation, index) => {
      if (operation.known) knownNodes.push(2 * index + 1, 2 * index + 2);
      else unknown.push(index);
    });
    // On equal timestamps calls go first: the two operations are then treated as
    // concurrent, which can only hide a violation, never invent one.
    knownNodes.sort((a, b) => time(a) - time(b) || (b % 2) - (a % 2) || a - b);
    unknown.sort((a, b) => operations[a]!.call - operations[b]!.call || a - b);
    chain(HEAD, knownNodes, this.next, this.prev);
    chain(this.unknownHead, unknown, this.nextUnknownOf, this.prevUnknownOf);
  }

  first(): number {
    return this.next[HEAD]!;
  }
  nextNode(node: number): number {
    return this.next[node]!;
  }
  firstUnknown(): number {
    return this.nextUnknownOf[this.unknownHead]!;
  }
  nextUnknown(index: number): number {
    return this.nextUnknownOf[index]!;
  }

  /** The first known operation whose call precedes every pending return and that `fits`, or END. */
  firstCallInWindow(fits: (index: number) => boolean): number {
    for (let node = this.first(); node !== END && !PendingEvents.isReturnNode(node); node = this.next[node]!) {
      if (fits(PendingEvents.operationOf(node))) return PendingEvents.operationOf(node);
    }
    return END;
  }

  remove(index: number): void {
    if (this.operations[index]!.known) {
      unlink(PendingEvents.callNode(index), this.next, this.prev);
      unlink(PendingEvents.callNode(index) + 1, this.next, this.prev);
    } else {
      unlink(index, this.nextUnknownOf, this.prevUnknownOf);
    }
  }

  /** Undoes `remove(index)`; only valid in reverse order of removal. */
  restore(index: number): void {
    if (this.operations[index]!.known) {
      relink(PendingEvents.callNode(index) + 1, this.next, this.prev);
      relink(PendingEvents.callNode(index), this.next, this.prev);
    } else {
      relink(index, this.nextUnknownOf, this.prevUnknownOf);
    }
  }
}

function chain(head: number, items: readonly number[], next: Int32Array, prev: Int32Array): void {
  let previous = head;
  for (const item of items) {
    next[previous] = item;
    prev[item] = previous;
    previous = item;
  }
}

function unlink(item: number, next: Int32Array, prev: Int32Array): void {
  const before = prev[item]!;
  const after = next[item]!;
  next[before] = after;
  if (after !== END) prev[after] = before;
}

function relink(item: number, next: Int32Array, prev: Int32Array): void {
  const before = prev[item]!;
  const after = next[item]!;
  next[before] = item;
  if (after !== END) prev[after] = item;
}
