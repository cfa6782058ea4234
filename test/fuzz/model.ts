/**
 * The boards as the accepted frames say they must be: every write the server
 * acknowledged, applied in revision order (replies arrive out of order across
 * connections, but each write's result names its revision). Values are compared as
 * parsed JSON (number spelling is not preserved, per the contract). `$` keys are the
 * server's and left out.
 */

type Json = Record<string, unknown>;

interface Change {
  rev: number;
  seq: number;
  apply(board: Map<string, { value: string; version: number }>): void;
}

const canonical = (v: unknown) => JSON.stringify(v) ?? 'undefined';

export class BoardModel {
  private readonly changes = new Map<string, Change[]>();
  private seq = 0;
  writesApplied = 0;

  /** Records what an accepted write did; false when the op changes no key. */
  accept(frame: Json, result: Json): boolean {
    const op = frame.op;
    const board = String(frame.board);
    const rev = Number(result.rev);
    if (!['put', 'patch', 'delete', 'txn'].includes(String(op)) || !Number.isFinite(rev)) return false;
    const steps: Array<(b: Map<string, { value: string; version: number }>) => void> = [];
    const one = (o: Json, r: Json) => {
      const key = String(o.key);
      if (key.startsWith('$')) return;
      if (o.op === 'delete') steps.push((b) => b.delete(key));
      else {
        const value = o.op === 'patch' ? canonical(r.value) : canonical(o.value);
        const version = Number(r.version);
        steps.push((b) => b.set(key, { value, version }));
      }
    };
    if (op === 'txn') {
      const ops = frame.ops as Json[];
      const results = result.results as Json[];
      ops.forEach((o, i) => one(o, results[i] ?? {}));
    } else one(frame, result);
    const list = this.changes.get(board) ?? [];
    list.push({ rev, seq: this.seq++, apply: (b) => steps.forEach((s) => s(b)) });
    this.changes.set(board, list);
    this.writesApplied++;
    return true;
  }

  /** The expected non-`$` keys of a board: key → canonical value and version. */
  expected(board: string): Map<string, { value: string; version: number }> {
    const state = new Map<string, { value: string; version: number }>();
    const list = [...(this.changes.get(board) ?? [])].sort((a, b) => a.rev - b.rev || a.seq - b.seq);
    for (const change of list) change.apply(state);
    return state;
  }

  static canonical = canonical;
}
