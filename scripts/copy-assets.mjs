// tsc does not copy non-TypeScript files; the server loads its Lua scripts (each
// capability's `scripts/` folder) and the history migrations at run time.
import { cpSync, existsSync, readdirSync } from 'node:fs';

const assets = readdirSync('server', { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(`server/${entry.name}/scripts`))
  .map((entry) => [`server/${entry.name}/scripts`, `dist/server/${entry.name}/scripts`]);
assets.push(['server/history/migrations', 'dist/server/history/migrations']);
for (const [from, to] of assets) cpSync(from, to, { recursive: true });
