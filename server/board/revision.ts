/**
 * One committed revision as the commit script publishes and logs it:
 * lines `rev`, `epoch`, `n`, then n triples `key`, `event JSON`, `patch JSON or ""`.
 * Keys have no control characters and JSON text has no raw line breaks, so lines are safe.
 * Event JSON stays text: a fan-out frame is built by concatenation, never re-serialized.
 */
export interface RevisionEntry {
  key: string;
  eventJson: string;
  patchJson: string;
}

export interface Revision {
  rev: number;
  epoch: string;
  entries: RevisionEntry[];
  /** Cache of serialized event lists by pattern-set id, filled during fan-out. */
  frames?: Map<string, string | null>;
}

export function parseRevision(message: string): Revision {
  const lines = message.split('\n');
  const count = Number(lines[2]);
  const entries: RevisionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const base = 3 + i * 3;
    entries.push({ key: lines[base] ?? '', eventJson: lines[base + 1] ?? '', patchJson: lines[base + 2] ?? '' });
  }
  return { rev: Number(lines[0]), epoch: lines[1] ?? '', entries };
}

/** About the bytes a revision's events take in a frame (their JSON, ASCII mostly). */
export function revisionBytes(revision: Revision): number {
  let bytes = 0;
  for (const entry of revision.entries) bytes += entry.eventJson.length + 1;
  return bytes;
}
