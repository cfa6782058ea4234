import type { Extension } from '../extension.js';
import { readHandlers } from './handlers/reads.js';
import { subscriptionHandlers } from './handlers/subscribe.js';
import { writeHandlers } from './handlers/writes.js';

/** The core: keys, history reads, boards and subscriptions, plugged in like every other capability. */
export function boardExtension(): Extension {
  return {
    name: 'board',
    handlers: { ...readHandlers, ...writeHandlers, ...subscriptionHandlers },
  };
}
