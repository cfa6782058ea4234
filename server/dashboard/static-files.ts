import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Content types of what `vite build` writes; anything else is served as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Largest file served; the built page is a few tens of KiB, so this only bounds mistakes. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Where `vite build` put the page. From source (`server/dashboard/`) and from the
 * compiled tree (`dist/server/dashboard/`) alike, it is `dist/dashboard` at the project root.
 */
export function defaultDashboardRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../dist/dashboard'), resolve(here, '../../dashboard')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
  /** Vite names bundled assets by content hash, so they never change under one name. */
  immutable: boolean;
}

/**
 * Maps a URL path to a file under `root`, or null. Refuses anything that could leave
 * the root (`..`, encoded separators, NUL) and dot-files, instead of trying to clean them.
 */
function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s.startsWith('.'))) return null;
  const base = resolve(root);
  const target = resolve(base, ...(segments.length === 0 ? ['index.html'] : segments));
  return target.startsWith(base + sep) ? target : null;
}

export async function readStatic(root: string, urlPath: string): Promise<StaticFile | null> {
  const path = resolveInside(root, urlPath);
  if (!path) return null;
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_FILE_BYTES) return null;
    const body = await readFile(path);
    return { body, contentType: contentTypeOf(path), immutable: urlPath.startsWith('/assets/') };
  } catch {
    return null;
  }
}
