import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseResourceUri, resourceUri } from '../../client/mcp/resource-uri.js';
import { scopesOfToken, toolVisible, visibleActions } from '../../client/mcp/visibility.js';
import { toolTable } from '../../client/mcp/tools/index.js';
import { parseEventId } from '../../server/mcp/event-store.js';
import { mcpRequestGuard } from '../../server/mcp/request-guard.js';

describe('blackboard:// resource addresses', () => {
  it("name a board index or a key, keeping the key's / and decoding escapes", () => {
    expect(parseResourceUri('blackboard://b1')).toEqual({ board: 'b1', key: null });
    expect(parseResourceUri('blackboard://b1/')).toEqual({ board: 'b1', key: null });
    expect(parseResourceUri('blackboard://b1/plan')).toEqual({ board: 'b1', key: 'plan' });
    expect(parseResourceUri('blackboard://b1/tasks/42')).toEqual({ board: 'b1', key: 'tasks/42' });
    expect(parseResourceUri('blackboard://b1/tasks%2F42')).toEqual({ board: 'b1', key: 'tasks/42' });
    expect(parseResourceUri('blackboard://b1/a b%3F')).toEqual({ board: 'b1', key: 'a b?' });
    // Dot segments are keys like any other: no URL resolution changes what is read.
    expect(parseResourceUri('blackboard://b1/a/../b')).toEqual({ board: 'b1', key: 'a/../b' });
    expect(parseResourceUri('blackboard://b1/$locks/x')).toEqual({ board: 'b1', key: '$locks/x' });
  });

  it('refuse other schemes, bad boards and keys that are not keys', () => {
    for (const uri of [
      'file:///etc/passwd',
      'test://watched-resource',
      'blackboard://',
      'blackboard://UPPER/x',
      'blackboard://b/a//c',
      'blackboard://b/%E0%A4%A',
      'blackboard://b/x%0Ay',
      `blackboard://b/${'k'.repeat(513)}`,
    ]) {
      expect(parseResourceUri(uri), uri).toBeNull();
    }
  });

  it('round-trip through the canonical form', () => {
    for (const key of ['plan', 'tasks/42', 'a b?#', '$presence/ada']) {
      expect(parseResourceUri(resourceUri('brd', key))).toEqual({ board: 'brd', key });
    }
    expect(resourceUri('brd')).toBe('blackboard://brd');
  });
});

describe('which tools a credential sees', () => {
  const names = (scopes: string[] | null) =>
    [...toolTable(undefined).byName.values()]
      .filter((t) => toolVisible(t.action, visibleActions(scopes)))
      .map((t) => t.name)
      .sort();

  it('follows the actions of the scopes; admin and no authentication see everything', () => {
    expect(names(['read:b'])).toEqual(['board_get', 'board_history', 'board_list', 'board_search', 'boards']);
    expect(names(['read:b/plan/', 'openid'])).toEqual(['board_get', 'board_history', 'board_list', 'board_search', 'boards']);
    expect(names(['lock:b'])).toEqual(['boards', 'lock_acquire', 'lock_release']);
    expect(names(['task:b'])).toEqual(['boards', 'task_cancel', 'task_checkpoint', 'task_claim', 'task_complete', 'task_enqueue', 'task_fail', 'task_get']);
    expect(names(['write:b'])).toEqual(['board_delete', 'board_patch', 'board_put', 'board_txn', 'board_update', 'boards']);
    expect(names(['admin:b'])).toHaveLength(19);
    expect(names(null)).toHaveLength(19);
    expect(names([])).toEqual(['boards']);
  });

  it('reads the scope claim of a token without verifying it, and shows everything when it cannot', () => {
    const jwt = (payload: unknown) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
    expect(scopesOfToken(jwt({ scope: 'read:b write:c' }))).toEqual(['read:b', 'write:c']);
    expect(scopesOfToken(jwt({ scope: ['task:b'] }))).toEqual(['task:b']);
    expect(scopesOfToken(jwt({ sub: 'x' }))).toEqual([]);
    expect(scopesOfToken('garbage')).toBeNull();
    expect(scopesOfToken(undefined)).toBeNull();
  });

  it('takes `board` from the session default when there is one', () => {
    expect(toolTable(undefined).listed.get('board_get')!.inputSchema.required as string[]).toContain('board');
    const withDefault = toolTable('team').listed.get('board_get')!.inputSchema;
    expect(withDefault.required as string[]).not.toContain('board');
    expect(JSON.stringify(withDefault)).toContain('default \\"team\\"');
  });
});

describe('SSE event ids', () => {
  it('carry their stream and Redis entry, and nothing else parses', () => {
    expect(parseEventId('_GET_stream|1712345678-3')).toEqual({ streamId: '_GET_stream', entryId: '1712345678-3' });
    expect(parseEventId('0f1e-uuid|1-0')).toEqual({ streamId: '0f1e-uuid', entryId: '1-0' });
    for (const bad of ['', '|1-0', '_GET_stream', '_GET_stream|', '_GET_stream|abc', `${'s'.repeat(200)}|1-0`]) expect(parseEventId(bad), bad).toBeNull();
  });
});

describe('the /mcp request guard (DNS rebinding)', () => {
  const request = (headers: Record<string, string>, localAddress = '127.0.0.1') => ({ headers, socket: { localAddress } }) as unknown as IncomingMessage;

  it('without authentication, over loopback, answers only loopback host names', () => {
    const guard = mcpRequestGuard({ allowedHosts: undefined, allowedOrigins: undefined, authMode: 'none' });
    expect(guard.refusal(request({ host: 'localhost:8080' }))).toBeNull();
    expect(guard.refusal(request({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }))).toBeNull();
    expect(guard.refusal(request({ host: '[::1]:8080' }, '::1'))).toBeNull();
    expect(guard.refusal(request({ host: 'evil.example:8080', origin: 'http://evil.example:8080' }))).toMatch(/loopback/);
    expect(guard.refusal(request({ host: 'localhost:8080', origin: 'http://evil.example' }))).toMatch(/Origin/);
    // Reached on another interface, the host name is the operator's business.
    expect(guard.refusal(request({ host: 'board.internal:8080' }, '10.0.0.5'))).toBeNull();
  });

  it('with MCP_ALLOWED_HOSTS, answers only those hosts; with tokens and no list, any host', () => {
    const listed = mcpRequestGuard({ allowedHosts: 'board.example.com, localhost:9000', allowedOrigins: undefined, authMode: 'jwt' });
    expect(listed.refusal(request({ host: 'board.example.com' }))).toBeNull();
    expect(listed.refusal(request({ host: 'board.example.com:443' }))).toBeNull();
    expect(listed.refusal(request({ host: 'localhost:9000' }))).toBeNull();
    expect(listed.refusal(request({ host: 'localhost:9001' }))).toMatch(/MCP_ALLOWED_HOSTS/);
    expect(listed.refusal(request({}))).toMatch(/MCP_ALLOWED_HOSTS/);
    const open = mcpRequestGuard({ allowedHosts: undefined, allowedOrigins: 'https://app.example', authMode: 'jwt' });
    expect(open.refusal(request({ host: 'anything:1' }))).toBeNull();
    expect(open.refusal(request({ host: 'anything:1', origin: 'https://app.example' }))).toBeNull();
    expect(open.refusal(request({ host: 'anything:1', origin: 'https://other.example' }))).toMatch(/Origin/);
  });
});
