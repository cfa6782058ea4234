import { BlackboardError, ErrorCode, badRequest } from '../../shared/protocol/errors.js';
import { compilePatterns } from '../../shared/protocol/globs.js';
import type { RequestFrame } from '../../shared/protocol/messages/index.js';
import { SEARCH_DEFAULT_LIMIT } from '../../shared/protocol/messages/search.js';
import { AgentShares } from '../board/agent-shares.js';
import type { Handler, OpContext } from '../extension.js';
import type { Source } from './candidates.js';
import type { Searcher } from './searcher.js';

/** The literal text before a pattern's first `*` (the whole pattern when it has none). */
function literalHead(pattern: string): string {
  const star = pattern.indexOf('*');
  return star === -1 ? pattern : pattern.slice(0, star);
}

/**
 * `search`: full-text search of a board's current values, of its state at `atRev`, or of
 * every value in its history, limited to the keys the token may read and to `patterns`.
 */
export function searchHandler(searcher: () => Searcher | null, searchesPerAgent: () => number): Handler<'search'> {
  // Searches in progress per agent: a search holds one of the node's few search connections
  // for up to SEARCH_TIMEOUT_MS, so no agent may hold them all.
  const shares = new AgentShares('searches', 'searches in progress', searchesPerAgent);
  return async (frame, ctx) => {
    const { services, session } = ctx;
    const engine = searcher();
    if (!engine || !services.durability.available) {
      throw new BlackboardError(ErrorCode.UNAVAILABLE, 'search needs the history in Postgres, which this server does not keep (HISTORY_ENABLED)');
    }
    shares.take(session.agentId);
    try {
      return await search(engine, frame, ctx);
    } finally {
      shares.give(session.agentId);
    }
  };
}

/** One search, the caller's share taken. */
async function search(engine: Searcher, frame: RequestFrame<'search'>, ctx: OpContext): ReturnType<Handler<'search'>> {
  if (frame.atRev !== undefined && frame.history === true) throw badRequest('atRev and history: true exclude each other');
  if ((frame.fromRev !== undefined || frame.toRev !== undefined) && frame.history !== true) {
    throw badRequest('fromRev and toRev apply to history: true');
  }
  if (frame.fromRev !== undefined && frame.toRev !== undefined && frame.fromRev > frame.toRev) {
    throw badRequest('fromRev is above toRev', { fromRev: frame.fromRev, toRev: frame.toRev });
  }
  // What the caller may read, as key prefixes (the security hooks say): every query filters on
  // them before it ranks or counts.
  const access = ctx.readAccess(frame.board);
  const scopePrefixes = access === null ? null : access.prefixes;
  const target = Math.max(frame.minRev ?? 0, frame.atRev ?? 0);
  if (target > 0) await waitForIndex(ctx.services, frame.board, target, frame.minRev !== undefined ? 'minRev' : 'atRev');
  const source: Source =
    frame.atRev !== undefined
      ? { kind: 'at', atRev: frame.atRev }
      : frame.history === true
        ? { kind: 'history', fromRev: frame.fromRev ?? 0, toRev: frame.toRev ?? Number.MAX_SAFE_INTEGER }
        : { kind: 'current' };
  return engine.search({
    board: frame.board,
    query: frame.query,
    scopePrefixes,
    patterns: frame.patterns ? { heads: frame.patterns.map(literalHead), match: compilePatterns(frame.patterns) } : null,
    source,
    limit: frame.limit ?? SEARCH_DEFAULT_LIMIT,
    after: frame.after,
  });
}

/** Waits, at most SEARCH_WAIT_MS, until the board's watermark (and so its index) reaches `rev`. */
async function waitForIndex(services: OpContext['services'], board: string, rev: number, field: 'minRev' | 'atRev'): Promise<void> {
  const state = await services.store.boardState(board);
  if (!state || rev > state.rev) {
    throw badRequest(`${field} ${rev} is in the future (board is at ${state?.rev ?? 0})`, { [field]: rev, rev: state?.rev ?? 0 });
  }
  const waitMs = services.config.SEARCH_WAIT_MS;
  try {
    await services.durability.awaitPersisted(board, rev, waitMs);
  } catch (err) {
    if (err instanceof BlackboardError && err.code === ErrorCode.TIMEOUT) {
      throw new BlackboardError(ErrorCode.TIMEOUT, `the search index did not reach revision ${rev} within ${waitMs} ms; retry`, {
        [field]: rev,
        waitedMs: waitMs,
      });
    }
    throw err;
  }
}
