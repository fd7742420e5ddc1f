import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/**
 * The Content-Security-Policy of the sandbox worker (web/src/worker/run.worker.ts),
 * which runs user code. A dedicated worker takes its policy from its own
 * script's response, not from the page: this one may load its own modules
 * and the data plane's .wasm from its own origin ('self'), compile the wasm
 * and evaluate the user's transpiled scenario ('unsafe-eval'), and may
 * connect to no other origin (fetch, XHR, WebSocket, EventSource, import()).
 * The worker fetches the wasm before any user code runs; by then
 * worker/sandbox.ts has removed fetch & co. from the script's reach.
 * web/public/_headers carries the same policy for static hosts that read it.
 */
export const SANDBOX_CSP = "default-src 'none'; script-src 'self' 'unsafe-eval'; connect-src 'self'; worker-src 'none'";

const isSandboxScript = (url: string | undefined) => url !== undefined && /\/run\.worker[-.][^/]*$/.test(url.split('?')[0]!);

function sandboxHeaders(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    if (isSandboxScript(req.url)) res.setHeader('Content-Security-Policy', SANDBOX_CSP);
    next();
  };
  return {
    name: 'blocklab-sandbox-csp',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

/**
 * Offline use: after the build, dist/sw.js (from web/public/sw.js) gets the
 * list of every file of the build, a version that changes with them, and
 * the sandbox's CSP. The page registers it (ui/offline.ts); see sw.js.
 */
function offlineCache(): Plugin {
  let outDir = '';
  return {
    name: 'blocklab-offline-cache',
    apply: 'build',
    configResolved: (c) => void (outDir = resolve(c.root, c.build.outDir)),
    closeBundle() {
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else files.push(relative(outDir, p).split('\\').join('/'));
        }
      };
      walk(outDir);
      const cached = files.filter((f) => f !== 'sw.js' && f !== '_headers').sort();
      const hash = createHash('sha256');
      for (const f of cached) hash.update(f).update(readFileSync(join(outDir, f)));
      const version = hash.digest('hex').slice(0, 12);
      const list = ['./', ...cached.map((f) => `./${f}`)];
      const sw = join(outDir, 'sw.js');
      const text = readFileSync(sw, 'utf8')
        .replace('const VERSION = "dev";', `const VERSION = ${JSON.stringify(version)};`)
        .replace('const FILES = [];', `const FILES = ${JSON.stringify(list)};`)
        .replace('const SANDBOX_CSP = "";', `const SANDBOX_CSP = ${JSON.stringify(SANDBOX_CSP)};`);
      if (!text.includes(version)) throw new Error('web/public/sw.js no longer has the placeholders the build fills in');
      writeFileSync(sw, text);
    },
  };
}

// No COOP/COEP headers: the engine moves buffers between threads as
// transferables, so it never needs SharedArrayBuffer (or cross-origin isolation).
export default defineConfig({
  root: 'web',
  base: './',
  plugins: [svelte(), sandboxHeaders(), offlineCache()],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    // Vite inlines assets under 4 KB as data: URLs; keep the wasm a real file
    // so the browser can compile it while streaming.
    assetsInlineLimit: (file) => (file.endsWith('.wasm') ? false : undefined),
    // Monaco's editor chunk is ~2.7 MB; it is loaded lazily, so don't warn about it.
    chunkSizeWarningLimit: 8192,
  },
  worker: { format: 'es' },
});
