import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The dashboard page: `vite build --config client/dashboard/vite.config.ts` writes dist/dashboard. */
export default defineConfig({
  root,
  // Relative asset URLs, so the page also works when a proxy serves it under a sub-path.
  base: './',
  publicDir: false,
  clearScreen: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 200,
  },
});
