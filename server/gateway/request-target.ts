/**
 * The request-target of an HTTP request, read defensively: clients may send anything, and
 * `new URL` throws on some of it (`//` reads as a host-less authority). Only origin-form
 * targets (`/path?query`) are served; everything else is a 4xx, never an exception.
 */

/** Longer request-targets are refused with 414 (tokens in `?access_token=` fit well within). */
const MAX_REQUEST_TARGET = 8 * 1024;

type TargetReading = { ok: true; url: URL } | { ok: false; status: 400 | 414; message: string };

const BASE = 'http://localhost';

export function readRequestTarget(target: string | undefined): TargetReading {
  if (target === undefined || target === '') return { ok: false, status: 400, message: 'missing request-target' };
  if (target.length > MAX_REQUEST_TARGET) {
    return { ok: false, status: 414, message: `request-target longer than ${MAX_REQUEST_TARGET} characters` };
  }
  // Absolute-form (`http://x/`), authority-form and `*` are for proxies; `//` would name a host.
  if (target[0] !== '/' || target[1] === '/') return { ok: false, status: 400, message: 'request-target must be a path' };
  let url: URL;
  try {
    // Appended, not resolved against a base: the path stays the path, whatever it holds.
    url = new URL(BASE + target);
  } catch {
    return { ok: false, status: 400, message: 'malformed request-target' };
  }
  try {
    // A broken escape (`%zz`) in the path would throw wherever it is decoded later.
    decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400, message: 'malformed escape in request-target' };
  }
  return { ok: true, url };
}
