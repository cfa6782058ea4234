import { BlackboardError, ErrorCode, type BlackboardClient } from '../../../client/sdk/index.js';
import type { RegisterOperation } from '../checker/linearizability.js';

export type Durability = 'memory' | 'durable';

/** A write the server acknowledged: it must be in the board's change log for good. */
export interface AckedWrite {
  key: string;
  value: string;
  version: number;
  rev: number;
  durability: Durability;
  /** Monotonic time of the acknowledgement. */
  ret: number;
}

/** One recorded operation, as the checker takes it, plus the key generation it ran in. */
export type RecordedOperation = RegisterOperation & { readonly generation: number };

/**
 * The history of a scenario: every register operation with its call and return times
 * (one monotonic clock: all clients live in this process), and every acknowledged write.
 * An operation that timed out or lost its connection has no return: unknown outcome.
 */
export class History {
  readonly ops: RecordedOperation[] = [];
  readonly acked: AckedWrite[] = [];
  readonly errors = new Map<string, number>();

  get unknown(): number {
    return this.ops.filter((o) => o.ret === undefined && o.op !== 'read').length;
  }

  /** Operations that took at least `ms` to answer: evidence that a fault held the server up. */
  slowerThan(ms: number): number {
    return this.ops.filter((o) => o.ret !== undefined && o.ret - o.call >= ms).length;
  }

  noteError(err: unknown): void {
    const code = err instanceof BlackboardError ? err.code : 'LOCAL';
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }
}

const now = () => performance.now();

/** A value the checker can tell apart from every other write: `<client>-<n>`. */
function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Versions from a CONFLICT's `details.current` (0 when the key is absent). */
function conflictVersion(err: BlackboardError): number | undefined {
  const current = err.details?.current as { version?: unknown } | undefined;
  return typeof current?.version === 'number' ? current.version : undefined;
}

/**
 * One SDK client doing reads, writes and compare-and-sets, recording each. Any failure
 * other than the two that prove nothing happened (NOT_FOUND on a read, CONFLICT on a
 * compare-and-set) leaves the outcome unknown: the write may have committed.
 */
export class RegisterClient {
  private n = 0;
  /** The version this client last saw per key: what its compare-and-sets expect. */
  readonly seen = new Map<string, number>();

  constructor(
    readonly id: string,
    readonly sdk: BlackboardClient,
    private readonly history: History,
  ) {}

  private nextValue(): string {
    return `${this.id}-${++this.n}`;
  }

  async read(board: string, key: string, generation: number): Promise<void> {
    const call = now();
    try {
      const got = await this.sdk.get(board, key);
      const ret = now();
      this.seen.set(key, got.version);
      const output = { version: got.version, value: valueText(got.value) };
      this.history.ops.push({ generation, client: this.id, key, op: 'read', call, ret, output });
    } catch (err) {
      const ret = now();
      if (err instanceof BlackboardError && err.code === ErrorCode.NOT_FOUND) {
        this.seen.set(key, 0);
        this.history.ops.push({ generation, client: this.id, key, op: 'read', call, ret, output: { version: 0, value: null } });
        return;
      }
      this.history.noteError(err);
      this.history.ops.push({ generation, client: this.id, key, op: 'read', call, unknown: true });
    }
  }

  async write(board: string, key: string, generation: number, durability: Durability): Promise<void> {
    const value = this.nextValue();
    const call = now();
    try {
      const { version, rev } = await this.sdk.put(board, key, value, durability === 'durable' ? { durability } : {});
      const ret = now();
      this.seen.set(key, version);
      this.history.ops.push({ generation, client: this.id, key, op: 'write', call, ret, input: { value }, output: { version } });
      this.history.acked.push({ key, value, version, rev, durability, ret });
    } catch (err) {
      this.history.noteError(err);
      this.history.ops.push({ generation, client: this.id, key, op: 'write', call, unknown: true, input: { value } });
    }
  }

  async cas(board: string, key: string, generation: number, durability: Durability): Promise<void> {
    const value = this.nextValue();
    const ifVersion = this.seen.get(key) ?? 0;
    const input = { value, ifVersion };
    const call = now();
    try {
      const options = durability === 'durable' ? { ifVersion, durability } : { ifVersion };
      const { version, rev } = await this.sdk.put(board, key, value, options);
      const ret = now();
      this.seen.set(key, version);
      this.history.ops.push({ generation, client: this.id, key, op: 'cas', call, ret, input, output: { ok: true, version } });
      this.history.acked.push({ key, value, version, rev, durability, ret });
    } catch (err) {
      const ret = now();
      if (err instanceof BlackboardError && err.code === ErrorCode.CONFLICT) {
        const currentVersion = conflictVersion(err);
        if (currentVersion !== undefined) this.seen.set(key, currentVersion);
        const output = currentVersion === undefined ? { ok: false as const } : { ok: false as const, currentVersion };
        this.history.ops.push({ generation, client: this.id, key, op: 'cas', call, ret, input, output });
        return;
      }
      this.history.noteError(err);
      this.history.ops.push({ generation, client: this.id, key, op: 'cas', call, unknown: true, input });
    }
  }
}
