/**
 * One committed revision as the commit script publishes and logs it; its text and that of
 * its events are read and rebuilt by `event-codec.ts`, which documents both.
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

/** About the bytes a revision's events take in a frame (their JSON, ASCII mostly). */
export function revisionBytes(revision: Revision): number {
  let bytes = 0;
  for (const entry of revision.entries) bytes += entry.eventJson.length + 1;
  return bytes;
}
