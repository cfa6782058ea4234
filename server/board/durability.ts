/**
 * Resolves once revision `rev` of `board` is kept where the source keeps it; TIMEOUT
 * after `timeoutMs` (the source's default when undefined).
 */
type DurabilitySource = (board: string, rev: number, timeoutMs?: number) => Promise<void>;

/**
 * Where `durable` writes wait: the sources extensions register (history in Postgres).
 * With none registered the node cannot acknowledge a durable write, and refuses it.
 */
export class DurabilityHooks {
  private readonly sources: DurabilitySource[] = [];

  register(source: DurabilitySource): void {
    this.sources.push(source);
  }

  /** Whether any source is registered. */
  get available(): boolean {
    return this.sources.length > 0;
  }

  /** Resolves once every registered source keeps `rev` of `board` (at once when none is registered). */
  awaitPersisted(board: string, rev: number, timeoutMs?: number): Promise<void> {
    const { sources } = this;
    // One source, as a node has: its own promise, no wrapper.
    if (sources.length === 1) return sources[0]!(board, rev, timeoutMs);
    return Promise.all(sources.map((s) => s(board, rev, timeoutMs))).then(() => undefined);
  }
}
