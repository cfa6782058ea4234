import type { Config } from './config.js';
import type { Extension } from './extension.js';

/** The capabilities a server node runs, in start-up order. */
export function defaultExtensions(_config: Config): Extension[] {
  return [];
}
