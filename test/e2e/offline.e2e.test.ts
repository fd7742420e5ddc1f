// Offline: once the site has loaded, its service worker (web/public/sw.js,
// filled in by the build) has saved every file, and the page keeps working
// with the server gone: the editor, a lesson, a run in the sandbox (whose
// script keeps its Content-Security-Policy from the cache).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { preview, type PreviewServer } from 'vite';
import type { Browser } from 'playwright-core';
import { SANDBOX_CSP } from '../../vite.config';
import { editorReady, screenshot } from './app';
import { launchChromium } from './chromium';

let browser: Browser;
let server: PreviewServer | undefined;

beforeAll(async () => {
  process.env.NODE_ENV = 'production';
  if (process.env.BLOCKLAB_E2E_BUILT !== '1') {
    const { build } = await import('vite');
    await build({ logLevel: 'error' });
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

test('once loaded, the site works with its server gone: the page, the editor, a lesson and a run', async () => {
  // A server of its own (its own origin, so its service worker is this test's alone), stopped halfway.
  server = await preview({ logLevel: 'error', preview: { port: 0, open: false } });
  const base = server.resolvedUrls!.local[0]!;
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  try {
    await page.goto(`${base}#example/lost-update`);
    await editorReady(page);
    await expect.poll(() => page.getAttribute('#offline-status', 'data-offline'), { timeout: 60_000 }).toBe('ready');

    await server.close();
    server = undefined;
    expect(await fetch(base).then(() => 'reached', () => 'unreachable')).toBe('unreachable');

    let workerCsp: string | undefined;
    page.on('response', (r) => {
      if (/run\.worker-[^/]*\.js$/.test(r.url())) workerCsp = r.headers()['content-security-policy'];
    });
    await page.reload();
    await editorReady(page);
    expect(await page.textContent('#lesson')).toContain('Lost update');
    await page.click('#run');
    await page.waitForSelector('#verdict', { timeout: 30_000 });
    expect(await page.textContent('#verdict')).toBe('pass');
    expect(workerCsp).toBe(SANDBOX_CSP);
    // Another lesson, by its link, and embed mode: the page is served from the cache whatever its query.
    await page.goto(`${base}?embed=1#example/check-then-act`);
    await editorReady(page);
    await page.click('#run');
    await page.waitForSelector('#verdict', { timeout: 30_000 });
    expect(await page.textContent('#verdict')).toBe('pass');
    await screenshot(page, 'offline-embed-run');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});
