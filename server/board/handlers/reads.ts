import { BlackboardError, ErrorCode, badRequest } from '../../../shared/protocol/errors.js';
import type { BoardEvent } from '../../../shared/protocol/types.js';
import { RawJson } from '../../../shared/protocol/json.js';
import type { HandlerTable } from '../../gateway/dispatch.js';
import { BOARDS_INDEX, boardKeys } from '../keys.js';
import { toKeyRecord } from '../records.js';
import { readStream } from '../feed.js';
import { mayReadBoard } from '../../security/authorize.js';

const DEFAULT_LIST_LIMIT = 1_000;
const DEFAULT_HISTORY_LIMIT = 1_000;

function needsHistory(what: string): BlackboardError {
  return new BlackboardError(ErrorCode.UNAVAILABLE, `${what} needs history (Postgres) on this server`);
}

export const readHandlers: HandlerTable = {
  async get(frame, ctx) {
    const { history, store } = ctx.services;
    if (frame.atRev !== undefined) {
      if (frame.schemaVersion !== undefined) throw badRequest('atRev and schemaVersion cannot be combined');
      if (!history?.getAt) throw needsHistory('atRev');
      return history.getAt(frame.board, frame.key, frame.atRev);
    }
    let read = await store.read(frame.board, frame.key);
    if (read.epoch === '') {
      // No meta: the board is new, or Redis lost it and it must be rebuilt before it is read.
      await store.materializer.materialize(frame.board);
      read = await store.read(frame.board, frame.key);
    }
    const { rev, record } = read;
    if (!record) throw new BlackboardError(ErrorCode.NOT_FOUND, `key ${frame.key} does not exist`, { key: frame.key });
    const result = { ...toKeyRecord(frame.key, record), rev };
    // Typed keys: the value in the asked (default: latest) schema version, with `schemaVersion`.
    if (ctx.services.schemas) return ctx.services.schemas.present(frame.board, frame.key, record, result, frame.schemaVersion);
    if (frame.schemaVersion !== undefined) throw new BlackboardError(ErrorCode.INVALID, 'this server runs no schemas');
    return result;
  },

  async list(frame, ctx) {
    const { history, store } = ctx.services;
    const limit = frame.limit ?? DEFAULT_LIST_LIMIT;
    if (frame.atRev !== undefined) {
      if (!history?.listAt) throw needsHistory('atRev');
      return history.listAt(frame.board, frame.prefix, frame.atRev, limit, frame.after);
    }
    let listed = await store.list(frame.board, frame.prefix, frame.after, limit);
    if (listed.epoch === '') {
      await store.materializer.materialize(frame.board);
      listed = await store.list(frame.board, frame.prefix, frame.after, limit);
    }
    const { rev, more, items } = listed;
    return { items, rev, more };
  },

  async history(frame, ctx) {
    const { history, redis } = ctx.services;
    const limit = frame.limit ?? DEFAULT_HISTORY_LIMIT;
    if (history?.events) return history.events(frame.board, frame, limit);
    // Without Postgres, the retained stream is the history.
    const events: RawJson[] = [];
    let next = frame.fromRev ?? 1;
    const toRev = frame.toRev ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const batch = await readStream(redis, frame.board, next, 1_000);
      for (const revision of batch) {
        if (revision.rev > toRev) return { events, more: false };
        for (const entry of revision.entries) {
          if (frame.key !== undefined && entry.key !== frame.key) continue;
          if (events.length === limit) return { events, more: true };
          events.push(new RawJson(entry.eventJson));
        }
      }
      if (batch.length < 1_000) return { events, more: false };
      next = batch[batch.length - 1]!.rev + 1;
    }
  },

  async boards(frame, ctx) {
    const { redis } = ctx.services;
    const prefix = frame.prefix ?? '';
    const names = (await redis.zrangebylex(BOARDS_INDEX, `[${prefix}`, prefix === '' ? '+' : `(${prefix}\xff`))
      // Only the boards the caller may read some part of.
      .filter((board) => mayReadBoard(ctx.session.auth.scopes, board))
      .slice(0, 10_000);
    // One command per board: boards live in different cluster slots, so no pipeline.
    const states = await Promise.all(names.map((board) => redis.hmget(boardKeys(board).meta, 'rev', 'epoch')));
    const boards = names.flatMap((board, i) => {
      const [rev, epoch] = states[i] ?? [];
      return epoch ? [{ board, rev: Number(rev ?? 0), epoch }] : [];
    });
    return { boards };
  },
};

export type { BoardEvent };
