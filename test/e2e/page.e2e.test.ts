// The built app in real headless Chromium: the page loads, the WASM data
// plane answers through the blkif ring (its check runs once the page is
// idle, after the editor), and nothing is logged as an error.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { editorReady, openPage, screenshot, startApp, type App } from './app';

let app: App;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

test('the page loads and the WASM core answers through the ring', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(app.base);
    await expect(page.title()).resolves.toBe('Blocklab');
    await editorReady(page);
    const t = await page.evaluate(() => ({
      ready: performance.now(),
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
    }));
    console.log(`[timing] vite preview: first contentful paint ${t.fcp.toFixed(0)} ms, editor usable ${t.ready.toFixed(0)} ms after navigation`);
    await expect.poll(() => page.textContent('#core-status'), { timeout: 30_000 }).toBe('WASM core: answering');
    await screenshot(page, 'page');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});
