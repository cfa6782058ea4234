import { BlackboardError } from '../../shared/protocol/errors.js';
import type { BoardEvent } from '../../shared/protocol/types.js';
import { UsageError } from './exit-codes.js';

/**
 * Where a command writes: results on stdout (human lines, or one JSON document per line
 * with --json), notes and errors on stderr so that stdout stays parseable.
 */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A human line on stdout (not in --json mode). */
  line(text: string): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A result: one JSON line in --json mode, else the human rendering. */
  result(value: unknown, human: () => string | string[]): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(value)}\n`);
      return;
    }
    const text = human();
    for (const l of Array.isArray(text) ? text : [text]) this.stdout.write(`${l}\n`);
  }

  /** A state change worth telling scripts too (a stream started, a gap): stderr, as JSON with --json. */
  status(value: Record<string, unknown>, human: string): void {
    this.stderr.write(this.json ? `${JSON.stringify(value)}\n` : `${human}\n`);
  }

  /** Information for a person, on stderr; kept out of --json output. */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  error(err: unknown): void {
    const body =
      err instanceof BlackboardError
        ? err.toBody()
        : err instanceof UsageError
          ? { code: 'USAGE', message: err.message }
          : { code: 'ERROR', message: err instanceof Error ? err.message : String(err) };
    if (this.json) {
      this.stderr.write(`${JSON.stringify({ error: body })}\n`);
      return;
    }
    this.stderr.write(`blackboard: ${body.code === 'USAGE' ? '' : `${body.code}: `}${body.message}\n`);
    if ('details' in body && body.details !== undefined) this.stderr.write(`  details: ${compact(body.details, 400)}\n`);
  }
}

/** JSON on one line, cut to `max` characters. */
export function compact(value: unknown, max = 80): string {
  const text = value === undefined ? '' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Columns padded to their widest cell, separated by two spaces. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** One event on one line: `rev 12  put  tasks/a  v3  alice  2024-...  {"x":1}`. */
export function formatEvent(event: BoardEvent): string {
  const body = event.type === 'delete' ? '' : event.value !== undefined ? compact(event.value) : `patch ${compact(event.patch)}`;
  return table([[`rev ${event.rev}`, event.type, event.key, `v${event.version}`, event.actor, formatTime(event.ts), body]])[0]!;
}
