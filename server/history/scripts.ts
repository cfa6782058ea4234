import { defineScripts, scriptsFolder, type RedisClient } from '../board/scripts.js';

/** The history's scripts: the persister's group and watermark, and a board's rebuild from Postgres. */
const HISTORY_SCRIPTS = ['set-watermark-1', 'rebuild-begin-5', 'rebuild-load-3', 'rebuild-finish-2', 'history-group-2'] as const;

declare module '../board/scripts.js' {
  interface ScriptRegistry {
    'set-watermark-1': 1;
    'rebuild-begin-5': 5;
    'rebuild-load-3': 3;
    'rebuild-finish-2': 2;
    'history-group-2': 2;
  }
}

export function defineHistoryScripts(redis: RedisClient): void {
  defineScripts(redis, HISTORY_SCRIPTS, scriptsFolder(import.meta.url));
}
