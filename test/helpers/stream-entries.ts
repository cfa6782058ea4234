import { revisionRecords } from '../../server/board/event-codec.js';
import type { Revision } from '../../server/board/revision.js';
import type { StreamEntry } from '../../server/history/persist-commit.js';

/** A revision as the persister reads it from a board's stream (entry id `<rev>-0`, decoded to rows). */
export function streamEntry(revision: Revision): StreamEntry {
  let bytes = 0;
  for (const e of revision.entries) bytes += e.key.length + e.eventJson.length + e.patchJson.length + 3;
  return { id: `${revision.rev}-0`, rev: revision.rev, epoch: revision.epoch, records: revisionRecords(revision), bytes };
}
