// The views of the world at the selected step, with the data the sandbox
// recorded while replaying the trace: a guest writes and reads its disk
// through blkfront, the ring, blkback and dom0's loop device. Devices,
// xenstore (the step's keys highlighted) and the ring follow the slider,
// kernel events are on the timeline, and scrubbing stays at frame rate.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { editorReady, openPage, screenshot, seedSavedWork, startApp, type App } from './app';

let app: App;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

export const GUEST_IO = [
  'import { scenario } from "blocklab";',
  'export default scenario({',
  '  title: "A guest writes and reads its disk",',
  '  domains: { work: {} },',
  '  files: { "/img/work.img": { size: "64K", owner: "work", fill: 0x11 } },',
  '  actors: {',
  '    toolstack: async (sys) => { await sys.xl.blockAttach("work", { target: "/img/work.img", vdev: "xvda", script: "qubes-block" }); },',
  '    guest: { domain: "work", run: async (sys) => {',
  '      await sys.disk.write("xvda", 3, new Uint8Array(512).fill(0xab));',
  '      await sys.disk.read("xvda", 2, 3);',
  '    } },',
  '  },',
  '  invariants: ["isolation", "progress"],',
  '});',
  '',
].join('\n');

async function select(page: Page, step: number): Promise<void> {
  await page.fill('#step-slider', String(step));
  await expect.poll(() => page.getAttribute('.world', 'data-step')).toBe(String(step));
}

/** The 1-based step of the first timeline row whose text matches. */
async function stepOf(page: Page, text: string): Promise<number> {
  const i = await page.locator('.timeline .row.step').evaluateAll((rows, t) => rows.findIndex((r) => r.textContent!.includes(t)), text);
  expect(i).toBeGreaterThanOrEqual(0);
  return i + 1;
}

test('devices, xenstore and the blkif ring follow the step slider, with real data; kernel events are on the timeline', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.setViewportSize({ width: 1400, height: 1000 });
    await seedSavedWork(page, app.base, GUEST_IO);
    await page.goto(app.base);
    await editorReady(page);
    await page.click('#run');
    await page.waitForSelector('#verdict', { timeout: 30_000 });
    expect(await page.textContent('#verdict')).toBe('pass');
    const n = await page.locator('.timeline .row.step').count();
    console.log(`[world] guest I/O: ${n} steps, views recorded in ${await page.getAttribute('.world', 'data-recorded-ms')} ms in the sandbox`);

    // Kernel events on the timeline: watch fires, and the loop device's uevents and state.
    expect(await page.locator('.timeline .ev.watch').count()).toBeGreaterThan(0);
    expect(await page.locator('.timeline .ev.uevent').count()).toBeGreaterThan(0);

    // At the start: no device in use, the booted xenstore tree, no ring.
    await select(page, 0);
    expect(await page.locator('[data-view="devices"] tr[data-device]').count()).toBe(0);
    expect(await page.locator('[data-view="xenstore"] [data-path="/local/domain/1"]').count()).toBe(1);
    expect(await page.locator('[data-view="xenstore"] [data-path="/local/domain/0/backend"]').count()).toBe(0);
    expect(await page.locator('[data-ring]').count()).toBe(0);

    // The guest's write is pushed: one request in the ring, the backend notified.
    const submit = await stepOf(page, 'disk.write submit');
    await select(page, submit);
    const loop0 = page.locator('[data-view="devices"] table[data-domain="dom0"] tr[data-device="loop0"]');
    expect(await loop0.innerText()).toMatch(/loop0\s+7:0\s+64K\s+0\s+\d+\s+\/img\/work\.img\s+1\s+bound/);
    const ring = page.locator('[data-ring="work/51712"]');
    expect(await ring.locator('[data-index="req_prod"]').innerText()).toBe('1');
    expect(await ring.locator('[data-index="rsp_prod"]').innerText()).toBe('0');
    expect(await ring.locator('[data-notify="back"]').innerText()).toContain('●');
    expect(await ring.locator('.slots').innerText()).toMatch(/\[0\]\s+request\s+WRITE id 0 sector 3, 1 seg/);
    await screenshot(page, 'world-ring-request');

    // blkback's batch answers it; the guest consumes the response and the slot is free again.
    await select(page, submit + 1);
    expect(await ring.locator('[data-index="req_cons"]').innerText()).toBe('1');
    expect(await ring.locator('.slots').innerText()).toMatch(/response\s+OKAY \(WRITE\)/);
    const complete = await stepOf(page, 'disk.write complete');
    await select(page, complete);
    expect(await ring.locator('[data-index="rsp_cons"]').innerText()).toBe('1');
    expect(await ring.locator('.slots').count()).toBe(0);

    // A step that writes xenstore: its nodes are highlighted, and listed above the tree.
    let xsStep = 0;
    for (let s = 1; s <= n && xsStep === 0; s++) {
      await select(page, s);
      if ((await page.locator('[data-xs-changed]').count()) > 0 && (await page.locator('[data-xs-changed] .w').count()) > 0) xsStep = s;
    }
    expect(xsStep).toBeGreaterThan(0);
    const written = await page.locator('[data-xs-changed] .w').allInnerTexts();
    expect((await page.locator('[data-view="xenstore"] .node.hit').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')))).sort()).toEqual([...written].sort());
    await screenshot(page, 'world-views');

    // Scrubbing with every view on: each move stays within a frame.
    const perMove = await page.evaluate(async (steps) => {
      const slider = document.querySelector<HTMLInputElement>('#step-slider')!;
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t0 = performance.now();
        slider.value = String((i * 7) % (steps + 1));
        slider.dispatchEvent(new Event('input', { bubbles: true }));
        await Promise.resolve();
        document.querySelector('.world')?.getBoundingClientRect();
        times.push(performance.now() - t0);
        await new Promise((r) => requestAnimationFrame(r));
      }
      times.sort((a, b) => a - b);
      return { median: times[30]!, max: times[59]! };
    }, n);
    console.log(`[scrub] guest I/O (${n} steps, devices + xenstore + ring views): median ${perMove.median.toFixed(1)} ms, max ${perMove.max.toFixed(1)} ms per move`);
    expect(perMove.median).toBeLessThan(16);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('compare: a lesson\'s schedule under before and after, side by side, pointing at the first step whose outcome differs', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.goto(`${app.base}#example/loop-reuse-race`);
    await editorReady(page);
    await page.click('[data-lesson-compare="after-0"]');
    await page.waitForSelector('#compare', { timeout: 40_000 });
    expect(await page.textContent('#verdict')).toBe('outcomes differ');
    expect(await page.textContent('#compare [data-side="a"]')).toMatch(/before.*linux-6\.1.*violation of "isolation"/s);
    expect(await page.textContent('#compare [data-side="b"]')).toMatch(/after.*v2.*pass/s);
    expect(await page.textContent('#compare')).toContain('the counterexample an exploration under before found');
    const first = await page.textContent('#compare-first');
    expect(first).toMatch(/The first step whose outcome differs: step (\d+)/);
    const n = Number(/step (\d+)/.exec(first!)![1]);
    // The first difference is marked, selected, and the rows before it are the same.
    expect(await page.locator('#compare .row.first-diff').count()).toBe(1);
    expect(await page.locator('#compare .row.diff').first().textContent()).toBe(await page.locator('#compare .row.first-diff').textContent());
    expect(await page.inputValue('#step-slider')).toBe(String(n));
    // Each side's world at the selected step: devices, and each side's own xenstore tree (the first
    // difference is reading `opened`: blkback wrote it under after (v2) and not under before).
    expect(await page.locator('#compare [data-devices="a"]').textContent()).toContain(`devices after step ${n}`);
    const opened = '[data-path="/local/domain/0/backend/vbd/1/51712/opened"]';
    expect(await page.locator(`#compare [data-xenstore="a"] ${opened}`).count()).toBe(0);
    expect(await page.locator(`#compare [data-xenstore="b"] ${opened}`).count()).toBe(1);
    expect(await page.locator('#compare [data-rings="b"]').textContent()).toContain('blkif rings after step');
    await screenshot(page, 'compare-before-after');
    await page.click('#compare header button');
    expect(await page.locator('#compare').count()).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});
