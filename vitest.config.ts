import { defineConfig } from 'vitest/config';

// Separate from vite.config.ts: its `root: 'web'` would hide test/.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', '**/node_modules/**'],
  },
});
