import { z } from 'zod';
import { MAX_PATTERN_STARS, patternStars } from '../globs.js';
import { boardName, request, revision } from './common.js';

export const globPattern = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.split('/').includes(''), 'pattern segments must not be empty')
  .refine((p) => patternStars(p) <= MAX_PATTERN_STARS, `a pattern may hold at most ${MAX_PATTERN_STARS} stars`);

export const subscribeRequest = request('subscribe', {
  board: boardName,
  patterns: z.array(globPattern).min(1).max(64),
  fromRev: revision.optional(),
  snapshot: z.boolean().optional(),
  mode: z.enum(['value', 'patch']).optional(),
  epoch: z.string().min(1).max(128).optional(),
});

const unsubscribeRequest = request('unsubscribe', { sub: z.string().min(1).max(64) });

export const subscriptionRequests = {
  subscribe: subscribeRequest,
  unsubscribe: unsubscribeRequest,
} as const;
