/**
 * Which browser origins may open a WebSocket. Browsers send `Origin` on every
 * WebSocket handshake and let any page dial any host, so without this check a page
 * the user happens to visit could talk to the server with the user's network position
 * (cross-site WebSocket hijacking). Clients that are not browsers send no `Origin`
 * and are not affected: they are held to their credentials alone.
 */

export interface OriginPolicy {
  any: boolean;
  sameHost: boolean;
  origins: ReadonlySet<string>;
}

/** `Origin` values compare in their serialized form: scheme://host[:port], lower case, no default port. */
export function normalizeOrigin(origin: string): string {
  if (origin === 'null') return origin;
  try {
    return new URL(origin).origin;
  } catch {
    return origin.toLowerCase();
  }
}

/**
 * ALLOWED_ORIGINS is a comma-separated list of origins, `*` (any) and `same-host`
 * (the origin's host equals the request's Host header). Unset: every origin with
 * AUTH_MODE=none (development: dashboards on other local ports), same-host otherwise.
 */
export function originPolicy(allowed: string | undefined, authMode: 'none' | 'jwt'): OriginPolicy {
  const entries = (allowed ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) return { any: authMode === 'none', sameHost: true, origins: new Set() };
  return {
    any: entries.includes('*'),
    sameHost: entries.includes('same-host'),
    origins: new Set(entries.filter((e) => e !== '*' && e !== 'same-host').map(normalizeOrigin)),
  };
}

export function originAllowed(policy: OriginPolicy, origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || policy.any) return true;
  const normalized = normalizeOrigin(origin);
  if (policy.origins.has(normalized)) return true;
  if (!policy.sameHost || host === undefined || normalized === 'null') return false;
  try {
    const from = new URL(normalized);
    // Read the Host header under the origin's scheme, so default ports compare equal.
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false;
  }
}
