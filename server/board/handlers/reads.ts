import { BlackboardError, ErrorCode, badRequest } from '../../../shared/protocol/errors.js';
import type { HandlerTable } from '../../extension.js';
import { HISTORY, SCHEMAS } from '../../services.js';
import { toKeyRecord } from '../records.js';
import { readStream } from '../feed.js';
import { boards } from './boards.js';
import { EventPage } from '../event-page.js';

const DEFAULT_LIST_LIMIT = 1_000;
const DEFAULT_HISTORY_LIMIT = 1_000;
/** Revisions read from the stream per round (their events are filtered and paged in Node). */
const STREAM_BATCH = 100;

function needsHistory(what: string): BlackboardError {
  return new BlackboardError(ErrorCode.UNAVAILABLE, `${what} needs history (Postgres) on this server`);
}

export const readHandlers: HandlerTable = {
  async get(frame, ctx) {
    const { store } = ctx.services;
    if (frame.atRev !== undefined) {
      if (frame.schemaVersion !== undefined) throw badRequest('atRev and schemaVersion cannot be combined');
      const history = ctx.services.capabilities.get(HISTORY);
      if (!history) throw needsHistory('atRev');
      return history.getAt(frame.board, frame.key, frame.atRev);
    }
    let read = await store.read(frame.board, frame.key);
    // No meta: the board was never written (a read creates nothing), or Redis lost it and it is rebuilt first.
    if (read.epoch === '' && (await store.restore(frame.board))) read = await store.read(frame.board, frame.key);
    const { rev, record } = read;
    if (!record) throw new BlackboardError(ErrorCode.NOT_FOUND, `key ${frame.key} does not exist`, { key: frame.key });
    const result = { ...toKeyRecord(frame.key, record), rev };
    // Typed keys: the value in the asked (default: latest) schema version, with `schemaVersion`.
    const schemas = ctx.services.capabilities.get(SCHEMAS);
    if (schemas) return schemas.present(frame.board, frame.key, record, result, frame.schemaVersion);
    if (frame.schemaVersion !== undefined) throw new BlackboardError(ErrorCode.INVALID, 'this server runs no schemas');
    return result;
  },

  async list(frame, ctx) {
    const { store } = ctx.services;
    const limit = frame.limit ?? DEFAULT_LIST_LIMIT;
    if (frame.atRev !== undefined) {
      const history = ctx.services.capabilities.get(HISTORY);
      if (!history) throw needsHistory('atRev');
      return history.listAt(frame.board, frame.prefix, frame.atRev, limit, frame.after);
    }
    const maxBytes = ctx.services.config.MAX_REPLY_BYTES;
    let listed = await store.list(frame.board, frame.prefix, frame.after, limit, maxBytes);
    if (listed.epoch === '' && (await store.restore(frame.board))) {
      listed = await store.list(frame.board, frame.prefix, frame.after, limit, maxBytes);
    }
    const { rev, more, items } = listed;
    return { items, rev, more };
  },

  async history(frame, ctx) {
    const { redis, config } = ctx.services;
    const limit = frame.limit ?? DEFAULT_HISTORY_LIMIT;
    const history = ctx.services.capabilities.get(HISTORY);
    if (history) return history.events(frame.board, frame, limit);
    // Without Postgres, the retained stream is the history.
    const page = new EventPage(limit, config.MAX_REPLY_BYTES);
    let next = frame.fromRev ?? 1;
    const toRev = frame.toRev ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const batch = await readStream(redis, frame.board, next, STREAM_BATCH);
      for (const revision of batch) {
        if (revision.rev > toRev) return { events: page.events, more: false };
        for (const entry of revision.entries) {
          if (frame.key !== undefined && entry.key !== frame.key) continue;
          if (!page.add(revision.rev, entry.eventJson)) return { events: page.events, more: true };
        }
      }
      if (batch.length < STREAM_BATCH) return { events: page.events, more: false };
      next = batch[batch.length - 1]!.rev + 1;
    }
  },

  boards,
};
