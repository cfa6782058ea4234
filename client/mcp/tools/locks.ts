import { z } from 'zod';
import { lockName, positiveInt } from '../../../shared/protocol/messages/common.js';
import type { BoardArg } from '../args.js';
import { tool, type ToolDefinition } from '../tool.js';

const nameArg = lockName.describe('Lock name, e.g. `plan` or `task/42`.');

/** Fenced locks: the token a lock gives is what writes pass as `fence`. */
export function lockTools(board: BoardArg): ToolDefinition[] {
  return [
    tool({
      name: 'lock_acquire',
      title: 'Take a lock',
      description:
        'Takes a named lock on a board for ttl_ms, waiting up to wait_ms while another agent holds it (then LOCKED, with details.holder). Returns a fencing token: pass {"lock": name, "token": token} as `fence` to board writes so they commit only while you still hold the lock (else FENCED). Release it with lock_release when done; it also ends with your session.',
      action: 'lock',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: {
        board,
        name: nameArg,
        ttl_ms: z.number().int().min(100).max(3_600_000).describe('How long the lock lasts unless released (ms).'),
        wait_ms: z.number().int().min(0).max(60_000).optional().describe('How long to wait for it (ms, default 0: do not wait).'),
      },
      output: {
        token: z.number().int().describe('The fencing token.'),
        expires_at: z.number().describe('Epoch ms at which the lock lapses.'),
      },
      async run(args, ctx) {
        const r = await ctx.api.request('lock.acquire', {
          board: ctx.board(args.board),
          name: args.name,
          ttlMs: args.ttl_ms,
          ...(args.wait_ms === undefined ? {} : { waitMs: args.wait_ms }),
        });
        return { token: r.token, expires_at: r.expiresAt };
      },
    }),
    tool({
      name: 'lock_release',
      title: 'Release a lock',
      description:
        'Releases a lock you hold, named with the token lock_acquire gave you. A token that no longer holds the lock (it expired, or your session reconnected) is FENCED.',
      action: 'lock',
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      input: { board, name: nameArg, token: positiveInt.describe('The token from lock_acquire.') },
      output: { released: z.boolean() },
      async run(args, ctx) {
        await ctx.api.request('lock.release', { board: ctx.board(args.board), name: args.name, token: args.token });
        return { released: true };
      },
    }),
  ];
}
