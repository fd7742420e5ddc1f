import { defineConfig } from 'vitest/config';

// Whole-app tests in headless Chromium; kept out of `npm test` so unit tests
// don't need a browser.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    // One production build for all files (test/e2e/global-setup.ts).
    globalSetup: ['test/e2e/global-setup.ts'],
    hookTimeout: 120_000,
    testTimeout: 60_000,
    fileParallelism: false,
  },
});
