import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Separate from vite.config.ts: its `root: 'web'` would hide test/.
export default defineConfig({
  // Scenario files import the public API as users write it: from "blocklab".
  resolve: { alias: { blocklab: fileURLToPath(new URL('./web/src/api/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', '**/node_modules/**'],
    // No test is timed (figures live in npm run bench): the timeout only
    // catches a hang. Vitest's 5 s default failed seeded property tests that
    // take 3-8 s when the 2-core machine is shared.
    testTimeout: 60_000,
  },
});
