// The built app in real headless Chromium: the page loads, the WASM core
// answers through the blkif ring, and nothing is logged as an error.
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { build, preview, type PreviewServer } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';


let server: PreviewServer | undefined;
let browser: Browser | undefined;
let base = '';

beforeAll(async () => {
  // vitest sets NODE_ENV=test, which would make Vite and Svelte build in
  // development mode; test what `npm run build` ships instead.
  process.env.NODE_ENV = 'production';
  await build({ logLevel: 'error' });
  server = await preview({ logLevel: 'error', preview: { port: 0, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  base = url;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens a page that records every console error and uncaught exception. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { page, errors };
}

test('the page loads and the WASM core answers through the ring', async () => {
  const { page, errors } = await openPage();
  try {
    await page.goto(base);
    await expect(page.title()).resolves.toBe('Blocklab');

    await expect
      .poll(() => page.textContent('#core-status'), { timeout: 30_000 })
      .toBe('WASM core: answering');
    expect(await page.textContent('#core-demo')).toContain('read back through the ring: match');

    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/page.png', fullPage: true });

    expect(errors).toEqual([]);
  } finally {
    await page.close();
  }
});
