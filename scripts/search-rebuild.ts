// Rebuilds the search index from the events table (Postgres only; the server may keep running):
//   npm run search:rebuild                       every board
//   npm run search:rebuild -- --board b1 --board b2
//   npm run search:rebuild -- --board b1 --language english   sets the board's text-search language, then rebuilds
// DATABASE_URL names the database (default postgres://127.0.0.1:5432/blackboard).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createDb, createPool, migrateDb } from '../server/history/db.js';
import { rebuildBoardIndex, rebuildIndex } from '../server/search/rebuild.js';

const USAGE = 'usage: search-rebuild [--board <name>]... [--language <regconfig, e.g. simple, english>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      board: { type: 'string', multiple: true },
      language: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.language !== undefined && (values.board?.length ?? 0) === 0) {
    process.stderr.write(`--language needs --board\n${USAGE}\n`);
    process.exit(2);
  }
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const pool = createPool({ url: process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/blackboard', poolMax: 2, queryTimeoutMs: 600_000 });
  try {
    await migrateDb(pool, createDb(pool), log);
    if (values.language !== undefined) {
      for (const board of values.board ?? []) {
        const keys = await rebuildBoardIndex(pool, board, values.language);
        log.info({ board, keys, language: values.language }, 'search index rebuilt');
      }
    } else {
      const done = await rebuildIndex(pool, log, values.board);
      log.info(done, 'search index rebuilt');
    }
  } finally {
    await pool.end();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`search-rebuild: ${err.message}\n`);
  process.exit(1);
});
