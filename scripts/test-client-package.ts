/**
 * `npm run test:client-package`: what an agent that installs only the client gets.
 * Packs client/ (`npm pack`, which builds it), installs the tarball into an empty
 * project from the local tarball and the npm cache alone (`--offline`), checks that no
 * server package came with it, and runs the README's agent from that project, twice,
 * against a server with a Redis of its own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, spawnServer, type ServerProcess } from '../test/helpers/process-server.js';
import { startRedisProcess, type RedisProcess } from '../test/helpers/redis-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const PACKAGE = '@blackboard/client';
/** Packages of the server that an agent must not have to install. */
const SERVER_ONLY = ['ioredis', 'bullmq', 'pg', 'pg-copy-streams', 'drizzle-orm', 'redlock', 'pino', 'prom-client', 'ajv'];
const log = (line: string) => process.stderr.write(`client-package: ${line}\n`);

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The README's "An agent in 20 lines", pointed at `url`. */
function readmeAgent(url: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('## An agent in 20 lines')[1];
  const code = /```ts\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  if (!code) throw new Error('README.md has no agent code block under "An agent in 20 lines"');
  if (!code.includes(`from '${PACKAGE}'`)) throw new Error(`the README agent does not import ${PACKAGE}`);
  return code.replace('ws://127.0.0.1:8080', url);
}

interface LockEntry {
  version?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * The lock file of a project that depends on the client tarball and `ws` (as the README's
 * agent does). Versions and integrities come from the root lock, whose packages `npm ci`
 * put in the npm cache, so the install needs no registry: the names a registry would
 * resolve are already resolved here.
 */
function agentLock(tarballSpec: string, tarballIntegrity: string): { lockfileVersion: 3; packages: Record<string, LockEntry> } {
  const root = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const client = JSON.parse(readFileSync(join(ROOT, 'client', 'package.json'), 'utf8')) as LockEntry & { name: string };
  const packages: Record<string, LockEntry> = {
    '': { name: 'agent', private: true, type: 'module', dependencies: { [PACKAGE]: tarballSpec, ws: root.packages['node_modules/ws']!.version! } },
    [`node_modules/${PACKAGE}`]: {
      version: client.version!,
      resolved: tarballSpec,
      integrity: tarballIntegrity,
      dependencies: client.dependencies!,
      ...(client.peerDependencies ? { peerDependencies: client.peerDependencies } : {}),
      ...(client.peerDependenciesMeta ? { peerDependenciesMeta: client.peerDependenciesMeta } : {}),
    },
  };
  const pending = Object.keys(client.dependencies ?? {});
  while (pending.length > 0) {
    const name = pending.pop()!;
    const path = `node_modules/${name}`;
    if (packages[path]) continue;
    const entry = root.packages[path];
    if (!entry) fail(`${name}, a dependency of the client, is not in the root lock`);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    packages[path] = rest;
    pending.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { lockfileVersion: 3, packages };
}

function fail(message: string): never {
  throw new Error(message);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bb-client-package-'));
  let redis: RedisProcess | null = null;
  let server: ServerProcess | null = null;
  try {
    log('packing client/');
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], join(ROOT, 'client'))) as Array<{
      filename: string;
      integrity: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(work, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    if (!files.includes('dist/client/sdk/index.d.ts')) fail('the tarball has no type declarations for the SDK');
    if (files.some((f) => f.startsWith('dist/server/'))) fail('the tarball holds server files');

    const project = join(work, 'agent');
    execFileSync('mkdir', ['-p', project]);
    const lock = agentLock(`file:${tarball}`, packed[0]!.integrity);
    writeFileSync(join(project, 'package.json'), JSON.stringify(lock.packages[''], null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    log('installing the tarball into an empty project (offline: the tarball and the npm cache)');
    npm(['ci', '--offline', '--no-audit', '--no-fund'], project);
    const tree = npm(['ls', '--all', '--parseable'], project);
    const installed = tree.split('\n').map((p) => p.split('node_modules/').pop() ?? '');
    const leaked = SERVER_ONLY.filter((name) => installed.includes(name));
    if (leaked.length > 0) fail(`installing ${PACKAGE} brought server packages: ${leaked.join(', ')}`);
    if (installed.includes('@modelcontextprotocol/sdk') || installed.includes('@langchain/core')) {
      fail('the optional peers (MCP, LangGraph) were installed without being asked for');
    }

    redis = await startRedisProcess();
    const port = await freePort();
    server = await spawnServer(port, { REDIS_URL: redis.url }, 60_000);
    writeFileSync(join(project, 'agent.ts'), readmeAgent(`ws://127.0.0.1:${port}`));
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    for (const [agent, done] of [
      ['alice', 1],
      ['bob', 2],
    ] as const) {
      const run = spawnSync(tsx, ['agent.ts', agent], { cwd: project, encoding: 'utf8', timeout: 60_000 });
      const out = `${run.stdout}${run.stderr}`;
      if (run.status !== 0) fail(`the README agent ${agent} exited with ${run.status ?? run.signal}: ${out}`);
      if (!out.includes(`${agent}: ${done} steps done`)) fail(`the README agent ${agent} did not report step ${done}: ${out}`);
      log(`README agent ${agent}: ${out.trim().split('\n').at(-1)}`);
    }
    log('ok: the packed client installs without the server and runs the README agent');
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`client-package: FAILED: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
