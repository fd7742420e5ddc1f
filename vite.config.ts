import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// No COOP/COEP headers: the engine moves buffers between threads as
// transferables, so it never needs SharedArrayBuffer (or cross-origin isolation).
export default defineConfig({
  root: 'web',
  base: './',
  plugins: [svelte()],
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
