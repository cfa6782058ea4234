import type { ServerResponse } from 'node:http';
import type { Extension } from '../extension.js';
import type { Route } from '../gateway/http.js';
import { defaultDashboardRoot, readStatic, type StaticFile } from './static-files.js';

/**
 * The page may talk only to this server (its WebSocket included) and load only its own
 * files: a token in the page URL must not be able to leave through injected markup.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Blackboard: dashboard not built</title></head>
<body>
<h1>The dashboard is not built</h1>
<p>This server serves the dashboard from <code>dist/dashboard</code>, which does not exist yet.
Build it with:</p>
<pre>npm run build</pre>
<p>then reload this page. The WebSocket API at <code>/v1/ws</code> works without it.</p>
</body></html>
`;

function send(res: ServerResponse, head: boolean, status: number, file: StaticFile | { body: Buffer; contentType: string }): void {
  const cache = 'immutable' in file && file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': file.contentType,
    'content-length': file.body.length,
    'cache-control': cache,
  });
  res.end(head ? undefined : file.body);
}

/** Serves the live dashboard (`GET /` and its assets) from the `vite build` output. */
export function dashboardExtension(root: string = defaultDashboardRoot()): Extension {
  const route: Route = async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const head = req.method === 'HEAD';
    const isPage = url.pathname === '/' || url.pathname === '/index.html';
    const file = await readStatic(root, url.pathname);
    if (file) {
      send(res, head, 200, file);
      return true;
    }
    if (!isPage) return false;
    // The page itself is missing: say how to build it rather than answer a bare 404.
    send(res, head, 503, { body: Buffer.from(NOT_BUILT_PAGE), contentType: 'text/html; charset=utf-8' });
    return true;
  };
  return { name: 'dashboard', routes: [route] };
}
