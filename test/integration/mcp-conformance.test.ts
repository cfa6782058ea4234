import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process-server.js';

/**
 * Acceptance 7: the official MCP conformance runner, in server mode, against a server
 * process. Scenarios that need the reference test server's own tools, resources or prompts
 * are listed in mcp-conformance-baseline.yml; the runner fails on any other failure, and on
 * a listed scenario that starts passing.
 */

const RUNNER = 'node_modules/@modelcontextprotocol/conformance/dist/index.js';
const BASELINE = 'test/integration/mcp-conformance-baseline.yml';
/** Listed in docs/mcp.md as the scenarios that pass. */
const PASSING = [
  'server-initialize',
  'logging-set-level',
  'ping',
  'tools-list',
  'server-sse-multiple-streams',
  'resources-list',
  'prompts-list',
  'dns-rebinding-protection',
];

let server: ServerProcess;
let url: string;
const output = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));

beforeAll(async () => {
  const port = await freePort();
  // The DNS-rebinding scenario is for servers without authentication, reached at a loopback address.
  server = await spawnServer(port, { AUTH_MODE: 'none' });
  url = `http://127.0.0.1:${port}/mcp`;
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  rmSync(output, { recursive: true, force: true });
});

function runConformance(): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER, 'server', '--url', url, '--expected-failures', BASELINE, '-o', output], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, text });
    });
  });
}

describe('the MCP conformance runner (server mode)', () => {
  it('passes every scenario that applies to a server without the reference test fixtures', { timeout: 180_000 }, async () => {
    const { code, text } = await runConformance();
    const summary = text.slice(text.indexOf('=== SUMMARY ==='));
    expect(code, summary).toBe(0);
    const passed = [...summary.matchAll(/^✓ ([a-z0-9-]+): \d+ passed, 0 failed$/gm)].map((m) => m[1]);
    expect(passed.sort()).toEqual([...PASSING].sort());
  });
});
