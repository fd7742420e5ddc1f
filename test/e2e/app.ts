// Shared set-up for the whole-app tests: build the app as `npm run build`
// does, serve it with `vite preview` (which also sets the sandbox worker's
// CSP header, vite.config.ts), and open pages in headless Chromium that
// record console errors and uncaught exceptions.
import { mkdir } from 'node:fs/promises';
import { build, preview, type PreviewServer } from 'vite';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium';

export interface App {
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startApp(): Promise<App> {
  // vitest sets NODE_ENV=test, which would make Vite and Svelte build in
  // development mode; test what `npm run build` ships instead. The global
  // set-up (global-setup.ts) has built it once already for the whole suite.
  process.env.NODE_ENV = 'production';
  if (process.env.BLOCKLAB_E2E_BUILT !== '1') await build({ logLevel: 'error' });
  const server: PreviewServer = await preview({ logLevel: 'error', preview: { port: 0, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  const browser = await launchChromium();
  return {
    base: url,
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export interface OpenPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
}

/** A page in a fresh context (its own localStorage), recording errors. */
export async function openPage(app: App): Promise<OpenPage> {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { page, context, errors };
}

export async function editorReady(page: Page): Promise<void> {
  await page.waitForSelector('[data-editor="ready"] .monaco-editor .view-lines', { timeout: 30_000 });
}

/** The editor's visible text (Monaco renders lines as spans; non-breaking spaces become spaces). */
export async function editorText(page: Page): Promise<string> {
  const text = await page.locator('.monaco-editor .view-lines').innerText();
  return text.replace(/\u00a0/g, ' ');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir('test-results', { recursive: true });
  await page.screenshot({ path: `test-results/${name}.png`, fullPage: true });
}

/** The saved-work record (web/src/ui/saved-work.ts), written before the app loads. */
export const SAVED_WORK_KEY = 'blocklab.work.v1';

export async function seedSavedWork(page: Page, base: string, code: string): Promise<void> {
  await page.goto(base);
  await page.evaluate(([k, c]) => localStorage.setItem(k!, JSON.stringify({ code: c, override: null, seed: '1', schedule: '' })), [SAVED_WORK_KEY, code]);
}
