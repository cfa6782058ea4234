import { z } from 'zod';
import { boardName, lockName, positiveInt, request } from './common.js';

const ttlMs = z.number().int().min(100).max(3_600_000);

export const lockRequests = {
  'lock.acquire': request('lock.acquire', {
    board: boardName,
    name: lockName,
    ttlMs,
    waitMs: z.number().int().min(0).max(600_000).optional(),
  }),
  'lock.extend': request('lock.extend', { board: boardName, name: lockName, token: positiveInt, ttlMs }),
  'lock.release': request('lock.release', { board: boardName, name: lockName, token: positiveInt }),
} as const;
