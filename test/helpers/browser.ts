import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DIST = join(ROOT, 'dist/dashboard');
const BUILD_LOCK = join(ROOT, 'dist/.dashboard-build.lock');
/** What the page is built from: a newer file here means dist/dashboard is stale. */
const SOURCES = ['client/dashboard', 'client/sdk', 'client/langgraph', 'shared/protocol'].map((dir) => join(ROOT, dir));

/**
 * Server settings for page tests: no Postgres history unless a test asks for it, and no
 * load shedding: these tests measure the page, and on a busy shared machine shedding
 * would refuse the writes that set the scene (or hold the load test below its rate).
 */
export const PAGE_TEST_ENV: Readonly<Record<string, string>> = {
  HISTORY_ENABLED: 'false',
  ADMISSION_LAG_MS: '0',
  ADMISSION_BACKLOG_MS: '0',
  ADMISSION_MAX_COMMITS: '0',
};

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtIsCurrent(): boolean {
  const index = join(DIST, 'index.html');
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  return SOURCES.every((dir) => !existsSync(dir) || newestMtime(dir) <= built);
}

/**
 * Builds the page with Vite when dist/dashboard is missing or older than its sources.
 * Test files run in parallel: a lock directory lets one of them build while the others wait.
 */
export async function ensureDashboardBuilt(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    if (builtIsCurrent()) return;
    try {
      mkdirSync(BUILD_LOCK);
    } catch {
      // Another file is building; a lock older than the timeout belongs to a build that died.
      const lock = statSync(BUILD_LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > timeoutMs) rmSync(BUILD_LOCK, { force: true, recursive: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another dashboard build');
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (!builtIsCurrent()) {
        await promisify(execFile)('npx', ['vite', 'build', '--config', 'client/dashboard/vite.config.ts'], {
          cwd: ROOT,
          timeout: timeoutMs,
        });
      }
      return;
    } finally {
      rmSync(BUILD_LOCK, { force: true, recursive: true });
    }
  }
}

export interface TestBrowser extends AsyncDisposable {
  context: BrowserContext;
  /** Opens a new tab at `url`; uncaught errors in it are collected in `errors`. */
  open(url: string): Promise<Page>;
  /** Uncaught exceptions in any page so far (console errors are not counted: a refused reconnect logs one). */
  errors: string[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile, removed on close. */
export async function launchBrowser(viewport = { width: 1440, height: 900 }): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get update && apt-get install -y chromium`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'bb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const errors: string[] = [];
  const close = async () => {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  };
  return {
    context,
    errors,
    async open(url: string) {
      const page = await context.newPage();
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(url);
      return page;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The dashboard URL for a board on a test server. */
export function dashboardUrl(serverUrl: string, board: string, extra: Record<string, string> = {}): string {
  const url = new URL('/', serverUrl);
  url.searchParams.set('board', board);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return url.toString();
}

/** The text of a key's value in the key tree, or null while the key is not shown. */
export function keyValue(page: Page, key: string): Promise<string | null> {
  return page.evaluate((k) => document.querySelector(`#keys .vrow[data-key="${CSS.escape(k)}"] .value`)?.textContent ?? null, key);
}

/**
 * The usual set-up of a page-test file: a built dashboard, a test server and a browser,
 * opened before its tests and closed after them. Read `server` and `browser` inside tests.
 */
export function pageTestFixture(): { readonly server: TestServer; readonly browser: TestBrowser } {
  const fixture = {} as { server: TestServer; browser: TestBrowser };
  beforeAll(async () => {
    await ensureDashboardBuilt();
    fixture.server = await startTestServer({ env: PAGE_TEST_ENV });
    fixture.browser = await launchBrowser();
  });
  afterAll(async () => {
    await fixture.browser?.close();
    await fixture.server?.stop();
  });
  return fixture;
}
