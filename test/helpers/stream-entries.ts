import type { Revision } from '../../server/board/revision.js';
import type { StreamEntry } from '../../server/history/persist-commit.js';

/** A revision as the persister reads it from a board's stream: entry id `<rev>-0`, the revision message (see event-codec.ts). */
export function streamEntry(revision: Revision): StreamEntry {
  const lines = [String(revision.rev), revision.epoch, String(revision.entries.length)];
  for (const e of revision.entries) lines.push(e.key, e.eventJson, e.patchJson);
  return { id: `${revision.rev}-0`, rev: revision.rev, epoch: revision.epoch, message: lines.join('\n') };
}
