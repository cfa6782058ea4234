// tsc does not copy non-TypeScript files; the server loads its Lua scripts at run time.
import { cpSync, existsSync } from 'node:fs';

const assets = [
  ['server/board/scripts', 'dist/server/board/scripts'],
  ['server/presence/scripts', 'dist/server/presence/scripts'],
  ['server/history/scripts', 'dist/server/history/scripts'],
  ['server/mcp/scripts', 'dist/server/mcp/scripts'],
  ['server/locks/scripts', 'dist/server/locks/scripts'],
  ['server/tasks/scripts', 'dist/server/tasks/scripts'],
  ['server/history/migrations', 'dist/server/history/migrations'],
];
for (const [from, to] of assets) {
  if (existsSync(from)) cpSync(from, to, { recursive: true });
}
