import { boardName, jsonValue, request } from './common.js';

export const presenceRequests = {
  'presence.set': request('presence.set', { board: boardName, meta: jsonValue }),
  'presence.clear': request('presence.clear', { board: boardName }),
} as const;
