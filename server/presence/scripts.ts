import { scriptsFolder } from '../board/scripts.js';

/** The presence scripts' folder: `presence-set-8` and `presence-clear-8` run composed with the commit script (see locks/scripts.ts). */
export const PRESENCE_SCRIPTS = scriptsFolder(import.meta.url);

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'presence-set-8': 8;
    'presence-clear-8': 8;
    'presence-refresh-2': 2;
  }
}
