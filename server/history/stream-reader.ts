import { redisErrorCode } from '../redis.js';
import { boardKeys } from '../board/keys.js';
import { revisionHead } from '../board/event-codec.js';
import { runScript, type RedisClient } from '../board/scripts.js';
import type { BoardBatch, StreamEntry } from './persist-commit.js';

export const HISTORY_GROUP = 'history';

type ReadMode = 'new' | 'own-pending' | 'claim';

export interface ReadTarget {
  board: string;
  mode: ReadMode;
  /** Entries to read at most. */
  count: number;
}

interface HeadState {
  rev: number;
  epoch: string;
  epochRev: number;
  /** The watermark mirrored in meta, or null when the board has none yet. */
  pw: number | null;
}

interface ReadResult {
  batch: BoardBatch;
  head: HeadState | null;
  /** The group is missing (new board, or Redis lost it). */
  noGroup: boolean;
}

/** Entries are read as bytes: the persister takes the message's text and the id's, not the field name's. */
type Fields = Buffer[] | null;
type RawEntry = [Buffer, Fields];

function toEntries(raw: RawEntry[] | null | undefined): { entries: StreamEntry[]; gone: string[] } {
  const entries: StreamEntry[] = [];
  const gone: string[] = [];
  let epoch = '';
  for (const [rawId, fields] of raw ?? []) {
    const id = rawId.toString('latin1');
    // An id without fields was trimmed away: only entries at or below the watermark are.
    if (!fields) {
      gone.push(id);
      continue;
    }
    // Only the head is read now: the events are decoded as their rows are written (see persist-commit.ts).
    const message = fields[1]?.toString('utf8') ?? '';
    const head = revisionHead(message);
    // One string for the epoch the entries share.
    if (head.epoch !== epoch) epoch = head.epoch;
    entries.push({ id, rev: head.rev, epoch, message });
  }
  return { entries, gone };
}

function parseHead(reply: unknown): HeadState | null {
  const [rev, epoch, epochRev, pw] = (reply ?? []) as Array<string | null>;
  if (!epoch) return null;
  return { rev: Number(rev ?? 0), epoch, epochRev: Number(epochRev ?? 0), pw: pw == null ? null : Number(pw) };
}

type Reply = [Error | null, unknown];

function settled(p: Promise<unknown>): Promise<Reply> {
  return p.then(
    (v): Reply => [null, v],
    (e: unknown): Reply => [e instanceof Error ? e : new Error(String(e)), null],
  );
}

/**
 * Each board's meta and its next entries for this consumer (new ones, its own
 * unacknowledged ones, or ones claimed from a dead consumer). Commands go out together
 * but one per board, so boards in different cluster slots are fine.
 */
export async function readBoards(
  redis: RedisClient,
  consumer: string,
  targets: ReadTarget[],
  claimIdleMs: number,
): Promise<{ results: ReadResult[]; goneIds: Map<string, string[]> }> {
  const replies = await Promise.all(
    targets.map(({ board, mode, count }) => {
      const keys = boardKeys(board);
      const read =
        mode === 'claim'
          ? redis.callBuffer('XAUTOCLAIM', [keys.log, HISTORY_GROUP, consumer, claimIdleMs, '0-0', 'COUNT', count])
          : redis.xreadgroupBuffer('GROUP', HISTORY_GROUP, consumer, 'COUNT', count, 'STREAMS', keys.log, mode === 'new' ? '>' : '0');
      return Promise.all([settled(redis.hmget(keys.meta, 'rev', 'epoch', 'epochRev', 'pw')), settled(read)]);
    }),
  );
  const results: ReadResult[] = [];
  const goneIds = new Map<string, string[]>();
  targets.forEach((target, i) => {
    const [[headErr, headReply], [readErr, readReply]] = replies[i]!;
    if (headErr) throw headErr;
    const head = parseHead(headReply);
    let raw: RawEntry[] | null = null;
    let noGroup = false;
    if (readErr) {
      if (redisErrorCode(readErr) !== 'NOGROUP') throw readErr;
      noGroup = true;
    } else if (target.mode === 'claim') {
      const claimed = readReply as [Buffer, RawEntry[], Buffer[]?] | null;
      raw = claimed?.[1] ?? null;
      const deleted = claimed?.[2] ?? [];
      if (deleted.length > 0)
        goneIds.set(
          target.board,
          deleted.map((id) => id.toString('latin1')),
        );
    } else {
      const streams = readReply as Array<[Buffer, RawEntry[]]> | null;
      raw = streams?.[0]?.[1] ?? null;
    }
    const { entries, gone } = toEntries(raw);
    if (gone.length > 0) goneIds.set(target.board, [...(goneIds.get(target.board) ?? []), ...gone]);
    results.push({
      batch: {
        board: target.board,
        entries,
        head: head && { rev: head.rev, epoch: head.epoch, epochRev: head.epochRev, startRev: head.pw ?? head.rev },
      },
      head,
      noGroup,
    });
  });
  return { results, goneIds };
}

/** Creates the board's consumer group when missing; returns false when the board has no meta. */
export async function ensureGroup(redis: RedisClient, board: string): Promise<boolean> {
  const keys = boardKeys(board);
  return (await runScript(redis, 'history-group-2', [keys.meta, keys.log], [HISTORY_GROUP])).ok;
}

/** Acknowledges entries and mirrors each board's watermark into its meta. */
export async function acknowledge(
  redis: RedisClient,
  acks: Array<{ board: string; ids: string[]; epoch: string | null; watermark: number | null }>,
): Promise<void> {
  const work: Array<Promise<unknown>> = [];
  for (const { board, ids, epoch, watermark } of acks) {
    const keys = boardKeys(board);
    for (let i = 0; i < ids.length; i += 1_000) work.push(redis.xack(keys.log, HISTORY_GROUP, ...ids.slice(i, i + 1_000)));
    if (epoch !== null && watermark !== null) {
      work.push(runScript(redis, 'set-watermark-1', [keys.meta], [epoch, watermark]));
    }
  }
  await Promise.all(work);
}

/**
 * Removes consumers of the board's group that hold nothing and have been idle for
 * `idleMs` (nodes that restarted leave their old names behind), so the group stays small.
 */
export async function pruneConsumers(redis: RedisClient, board: string, idleMs: number): Promise<number> {
  const log = boardKeys(board).log;
  const consumers = (await redis.xinfo('CONSUMERS', log, HISTORY_GROUP)) as unknown[][];
  let removed = 0;
  for (const fields of consumers.slice(0, 1_000)) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
    if (Number(info.pending) === 0 && Number(info.idle) > idleMs) {
      await redis.xgroup('DELCONSUMER', log, HISTORY_GROUP, String(info.name));
      removed++;
    }
  }
  return removed;
}
