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

// No COOP/COEP headers: the engine moves buffers between threads as
// transferables, so it never needs SharedArrayBuffer (or cross-origin isolation).
export default defineConfig({
  root: 'web',
  base: './',
  plugins: [svelte(), sandboxHeaders()],
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
