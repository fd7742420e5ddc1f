// Every gallery lesson opens from its link and runs under its default
// configuration (the scenario's own): a verdict appears, the world views
// show the run, and the page logs no error. One page for all of them (a
// lesson link changes only the fragment), so the whole gallery costs
// seconds, not a page load each.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { GALLERY } from '../../web/src/scenarios/index';
import { editorReady, openPage, screenshot, startApp, type App } from './app';

let app: App;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

test(`every gallery lesson (${GALLERY.length}) opens and runs with a verdict`, async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(app.base);
    await editorReady(page);
    const seen: string[] = [];
    for (const g of GALLERY) {
      await page.goto(`${app.base}#example/${g.id}`);
      await expect.poll(() => page.textContent('#lesson h2'), { timeout: 10_000 }).toBe(g.title);
      await expect.poll(() => page.locator('#run-status').innerText()).toContain('Not run yet');
      const before = Number(await page.getAttribute('#run-status', 'data-ran'));
      await page.click('#run');
      await expect.poll(async () => Number(await page.getAttribute('#run-status', 'data-ran')), { timeout: 30_000 }).toBeGreaterThan(before);
      const verdict = (await page.textContent('#verdict')) ?? '';
      seen.push(`${g.id}: ${verdict} (${await page.locator('#run-status').innerText()})`);
      expect(['pass', 'violation', 'vacuous'], `${g.id}: ${await page.locator('#console').innerText()}`).toContain(verdict);
      expect(await page.locator('.timeline .row.step').count()).toBeGreaterThan(0);
      expect(await page.locator('.world[data-step]').count(), `${g.id}: the world views`).toBe(1);
      // A lesson whose guest set up a ring shows its indices, read from the shared page.
      for (const idx of await page.locator('[data-ring] [data-index="req_prod"]').allInnerTexts()) expect(idx, `${g.id}: req_prod`).toMatch(/^\d+$/);
      if ((await page.locator('[data-overrun]').count()) > 0) await screenshot(page, `gallery-${g.id}-ring-overrun`);
      expect(errors, g.id).toEqual([]);
    }
    console.log(`[gallery] ${seen.join('; ')}`);
    await screenshot(page, 'gallery-last-lesson');
  } finally {
    await context.close();
  }
});
