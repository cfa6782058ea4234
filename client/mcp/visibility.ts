import type { ToolAction } from './tool.js';

/**
 * Which tools a credential's scopes can use, so `tools/list` offers a model only what it
 * may call. This only hides: the server checks every op against the scopes, so a hidden
 * tool called anyway is refused with FORBIDDEN. Scope strings are `<action>:<board>[/prefix]`
 * (docs/security.md); `admin` implies every action; strings of other forms are ignored.
 */
const ACTIONS = ['read', 'write', 'lock', 'task'] as const;

/** null: every tool (authentication off, or a credential whose scopes are not known here). */
export function visibleActions(scopes: readonly string[] | null): ReadonlySet<ToolAction> | null {
  if (scopes === null) return null;
  const actions = new Set<ToolAction>(['any']);
  for (const scope of scopes) {
    const action = scope.slice(0, scope.indexOf(':'));
    if (scope.indexOf(':') <= 0) continue;
    if (action === 'admin') return null;
    if ((ACTIONS as readonly string[]).includes(action)) actions.add(action as ToolAction);
  }
  return actions;
}

export function toolVisible(action: ToolAction, visible: ReadonlySet<ToolAction> | null): boolean {
  return visible === null || visible.has(action);
}

/**
 * The `scope` claim of a JWT, read without verifying it (the server verifies): for the stdio
 * process, which holds the token but not the key. An unreadable token shows every tool.
 */
export function scopesOfToken(token: string | undefined): string[] | null {
  if (!token) return null;
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { scope?: unknown };
    if (typeof claims.scope === 'string') return claims.scope.split(/\s+/).filter((s) => s !== '');
    if (Array.isArray(claims.scope)) return claims.scope.filter((s): s is string => typeof s === 'string');
    return [];
  } catch {
    return null;
  }
}
