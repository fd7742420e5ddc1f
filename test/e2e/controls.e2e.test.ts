// Share links with the selected step, the timeline as SVG, the theme
// switch, and the controls without a mouse.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { editorReady, openPage, screenshot, startApp, type App } from './app';

let app: App;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const ran = (page: Page) => page.locator('#run-status').getAttribute('data-ran').then(Number);
async function waitRan(page: Page, before: number): Promise<void> {
  await expect.poll(() => ran(page), { timeout: 30_000 }).toBeGreaterThan(before);
}

test('keyboard only: Tab reaches Run, Enter runs, the timeline moves the step with the arrows; the link carries the step and a fresh reader lands on it after Run', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/lost-update`);
    await editorReady(page);
    // From the top of the page, Tab by Tab to Run.
    // Monaco keeps Tab for indenting: the skip button (just before it) takes the reader to Run.
    let reached = false;
    for (let i = 0; i < 60 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'skip-editor');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('run');
    await page.keyboard.press('Enter');
    await waitRan(page, 0);
    expect(await page.textContent('#verdict')).toBe('pass');
    await page.focus('.timeline');
    await page.keyboard.press('Home');
    expect(await page.inputValue('#step-slider')).toBe('0');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    expect(await page.textContent('#step-label')).toBe('2 / 4');
    await page.keyboard.press('End');
    expect(await page.inputValue('#step-slider')).toBe('4');
    await page.keyboard.press('PageUp');
    expect(await page.inputValue('#step-slider')).toBe('0');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');

    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('#share-link').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.textContent('#banner')).toContain('and step 2');
    const link = await page.inputValue('#share-link');

    const reader = await openPage(app);
    try {
      await reader.page.goto(link);
      await editorReady(reader.page);
      expect(await reader.page.textContent('#banner')).toContain('It points at step 2');
      expect(await reader.page.locator('#step-slider').count()).toBe(0); // nothing ran
      await reader.page.keyboard.press('Control+Enter');
      await waitRan(reader.page, 0);
      expect(await reader.page.textContent('#step-label')).toBe('2 / 4');
      expect(reader.errors).toEqual([]);
    } finally {
      await reader.context.close();
    }
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('the timeline exports as an SVG picture; the theme switch goes light, dark and back to the system, and is kept', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/loop-reuse-race`);
    await editorReady(page);
    await page.click('[data-lesson-config="before"]');
    await page.click('#explore');
    await waitRan(page, 0);
    expect(await page.textContent('#verdict')).toBe('violation');
    const steps = await page.locator('.timeline .row.step').count();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-svg')]);
    expect(download.suggestedFilename()).toBe('blocklab-timeline.svg');
    const { readFile } = await import('node:fs/promises');
    const svg = await readFile((await download.path())!, 'utf8');
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      return { error: doc.querySelector('parsererror')?.textContent ?? null, root: doc.documentElement.nodeName, steps: doc.querySelectorAll('g.step').length, text: doc.documentElement.textContent ?? '' };
    }, svg);
    expect(parsed.error).toBeNull();
    expect(parsed.root).toBe('svg');
    expect(parsed.steps).toBe(steps);
    expect(parsed.text).toContain('violated: isolation');

    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim());
    expect(await page.getAttribute('#theme', 'data-theme-choice')).toBe('auto');
    await page.click('#theme');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    expect(await bg()).toBe('#fbfbfa');
    await page.click('#theme');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await bg()).toBe('#17181b');
    await expect.poll(() => page.locator('.monaco-editor.vs-dark').count()).toBe(1);
    await screenshot(page, 'theme-dark');
    await page.reload();
    await editorReady(page);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.locator('.monaco-editor.vs-dark').count()).toBe(1);
    await page.click('#theme');
    expect(await page.getAttribute('html', 'data-theme')).toBeNull();
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('step mode: a tool call is one move that opens into its system calls; a crash is a move of its own', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/loop-reuse-race`);
    await editorReady(page);
    await page.click('#step-mode');
    await page.waitForSelector('#step-panel');
    // The cleanup's first system call belongs to losetup.detach.
    const cleanup = page.locator('#step-panel li', { has: page.locator('[data-actor="cleanup"]') });
    expect(await cleanup.locator('[data-tool="losetup.detach"]').innerText()).toContain('0 system calls made');
    let before = await ran(page);
    await page.click('[data-finish="cleanup"]');
    await waitRan(page, before);
    // It moved through the whole call: open, LOOP_CLR_FD, close; in the moves list, one line that opens into them.
    const entry = page.locator('#step-panel [data-toolcall="losetup.detach"]');
    expect(await entry.locator('summary').innerText()).toMatch(/cleanup: losetup\.detach\("\/dev\/loop0"\)\s+3 system calls/);
    await entry.locator('summary').click();
    expect(await entry.locator('.syscalls').innerText()).toMatch(/open\("\/dev\/loop0"[\s\S]*ioctl[\s\S]*LOOP_CLR_FD[\s\S]*close/);
    expect(await page.locator('.timeline .tool').first().innerText()).toContain('losetup.detach');
    await screenshot(page, 'step-mode-tool-call');

    // An actor that may crash offers its death as a move.
    await page.goto(`${app.base}#example/vm-shutdown-leak-kernel`);
    await editorReady(page);
    await page.click('#step-mode');
    await page.waitForSelector('#step-panel');
    const kill = page.locator('#step-panel [data-alt^="toolstack:"].kill');
    await expect.poll(() => kill.count(), { timeout: 10_000 }).toBe(1);
    expect(await kill.innerText()).toContain('kill toolstack');
    before = await ran(page);
    await kill.click();
    await waitRan(page, before);
    expect(await page.textContent('#step-panel')).toContain('toolstack was killed');
    expect(await page.textContent('.timeline')).toContain('<killed>');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});
