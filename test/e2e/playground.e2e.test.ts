// The playground in real headless Chromium: the shell paints before Monaco,
// a gallery lesson runs and explores, the sandbox stops an endless loop
// while the page stays responsive, links round-trip and damaged ones keep
// the reader's work, the editor's text survives a reload, and exploring
// leaves the main thread free (long tasks measured with a PerformanceObserver).
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { SANDBOX_CSP } from '../../vite.config';
import { editorReady, editorText, openPage, SAVED_WORK_KEY, screenshot, seedSavedWork, startApp, type App } from './app';

let app: App;

beforeAll(async () => {
  app = await startApp();
});

afterAll(async () => {
  await app?.close();
});

const status = (page: Page) => page.locator('#run-status');
const consoleText = (page: Page) => page.locator('#console').innerText();

async function waitRan(page: Page, before: number, timeout = 30_000): Promise<void> {
  await expect.poll(async () => Number(await status(page).getAttribute('data-ran')), { timeout }).toBeGreaterThan(before);
}
async function ranCount(page: Page): Promise<number> {
  return Number(await status(page).getAttribute('data-ran'));
}

test('the shell paints before Monaco has loaded, then the editor arrives', async () => {
  const { page, context, errors } = await openPage(app);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  // Hold back Monaco's editor chunk: the shell must already be usable without it.
  await page.route(/editor\.api-[^/]*\.js$/, async (route) => {
    await held;
    await route.continue();
  });
  try {
    await page.goto(`${app.base}#example/lost-update`);
    await page.waitForSelector('[data-editor="loading"] pre');
    expect(await page.textContent('h1')).toBe('Blocklab');
    expect(await page.isVisible('#run')).toBe(true);
    expect(await page.textContent('[data-editor="loading"] pre')).toContain('scenario(');
    expect(await page.textContent('#lesson')).toContain('Lost update');
    expect(await page.locator('.monaco-editor').count()).toBe(0);
    await screenshot(page, 'shell-before-monaco');
    release();
    await editorReady(page);
    expect(await editorText(page)).toContain('countStart');
    expect(errors).toEqual([]);
  } finally {
    release();
    await context.close();
  }
});

test('a gallery lesson runs (trace in the timeline), then Explore finds the lost update with the violating step marked', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/lost-update`);
    await editorReady(page);
    expect(await status(page).innerText()).toContain('Not run yet');
    await page.click('#run');
    await waitRan(page, 0);
    expect(await page.textContent('#verdict')).toBe('pass');
    expect(await status(page).innerText()).toMatch(/Ran: 4 steps/);
    expect(await page.locator('.timeline .row.step').count()).toBe(4);
    expect(await page.textContent('.timeline')).toContain('readFile("/run/blocklab/vms-started")');
    expect(await page.inputValue('#step-slider')).toBe('4');
    await screenshot(page, 'lesson-run');

    await page.selectOption('#explore-mode', 'exhaustive');
    await page.click('#explore');
    await waitRan(page, 1);
    expect(await page.textContent('#verdict')).toBe('violation');
    expect(await page.textContent('#violation')).toContain('every start counted');
    expect(await page.locator('.timeline .row.violating').count()).toBe(1);
    expect(await page.locator('.timeline .row.racing').count()).toBe(2);
    expect(await consoleText(page)).toContain('one update was lost');

    // The slider moves the views: at step 1 only the first step is done.
    await page.fill('#step-slider', '1');
    expect(await page.textContent('#step-label')).toMatch(/^1 \//);
    expect(await page.locator('.timeline .row.step').evaluateAll((rows) => rows.filter((r) => getComputedStyle(r).color === getComputedStyle(document.querySelector('.timeline .head')!).color).length)).toBe(1);
    await screenshot(page, 'lesson-explore-violation');

    // Replaying the counterexample's schedule in run mode gives the same violation.
    await page.click('text=Replay it with Run');
    const schedule = await page.textContent('#violation-schedule');
    expect(await page.inputValue('#schedule')).toBe(schedule);
    await page.click('#run');
    await waitRan(page, 2);
    expect(await page.textContent('#verdict')).toBe('violation');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('an endless loop in a script is stopped with a message, and the page stays responsive', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await seedSavedWork(page, app.base, [
      'import { scenario } from "blocklab";',
      'export default scenario({',
      '  title: "spins",',
      '  actors: { spinner: async (sys) => { await sys.log("about to spin"); while (true) {} } },',
      '});',
      '',
    ].join('\n'));
    await page.goto(app.base);
    await editorReady(page);
    expect(await editorText(page)).toContain('while (true) {}');
    await page.click('#run');
    await expect.poll(() => status(page).getAttribute('data-status'), { timeout: 15_000 }).toBe('running');
    // While the worker spins, the page answers at once and takes input.
    const t0 = Date.now();
    await page.fill('#seed', '42');
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    expect(Date.now() - t0).toBeLessThan(1000);
    await waitRan(page, 0, 15_000);
    expect(await status(page).innerText()).toContain('over the time budget');
    expect(await consoleText(page)).toMatch(/did not finish within 5 s, so its worker was stopped/);
    await screenshot(page, 'endless-loop-stopped');
    // And the next run works (a fresh worker).
    await page.click('#explore');
    await expect.poll(() => status(page).getAttribute('data-status'), { timeout: 15_000 }).toBe('exploring');
    await page.click('#stop');
    await waitRan(page, 1);
    expect(await status(page).innerText()).toContain('stopped by you');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a script runs with no network and none of the page storage; errors point at line and column', async () => {
  const { page, context, errors } = await openPage(app);
  let workerCsp: string | undefined;
  page.on('response', (r) => {
    if (/run\.worker-[^/]*\.js$/.test(r.url())) workerCsp = r.headers()['content-security-policy'];
  });
  try {
    await seedSavedWork(page, app.base, [
      'import { scenario } from "blocklab";',
      'const g = globalThis as any;',
      'export default scenario({',
      '  actors: {',
      '    probe: async (sys) => {',
      '      console.log(["fetch", "XMLHttpRequest", "WebSocket", "indexedDB", "caches", "postMessage", "importScripts", "BroadcastChannel"].map((n) => `${n}:${typeof g[n]}`).join(" "));',
      '      console.log("from console.log", 1 + 1);',
      '      const n: number = "not a number";',
      '      throw new Error("boom");',
      '    },',
      '  },',
      '});',
      '',
    ].join('\n'));
    await page.goto(app.base);
    await editorReady(page);
    await page.click('#run');
    await waitRan(page, 0);
    const text = await consoleText(page);
    expect(text).toContain('fetch:undefined XMLHttpRequest:undefined WebSocket:undefined indexedDB:undefined caches:undefined postMessage:undefined importScripts:undefined BroadcastChannel:undefined');
    expect(text).toContain('from console.log 2');
    // The type error is reported and the script still ran.
    expect(text).toMatch(/line 8, column 13\s*type error \(the script runs anyway\)/);
    // The thrown error points at its line in the TypeScript.
    expect(text).toMatch(/line 9, column 13\s*error: probe: Error: boom/);
    expect(workerCsp).toBe(SANDBOX_CSP);

    // A syntax error is shown with its position and nothing runs.
    await page.click('.monaco-editor .view-lines');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('const = ;');
    await page.click('#run');
    await waitRan(page, 1);
    expect(await status(page).innerText()).toContain('not run: fix the syntax error first');
    expect(await consoleText(page)).toMatch(/line 13, column 7\s*syntax error: Variable declaration expected\./);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('the editor text survives a reload; a share link round-trips without running; a damaged link keeps the saved work', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/check-then-act`);
    await editorReady(page);
    await page.click('.monaco-editor .view-lines');
    await page.keyboard.press('Control+Home');
    await page.keyboard.type('// my own marker 1234\n');
    // Choose a configuration, so the link has one to carry.
    await page.click('[data-preset="v2"]');
    await expect.poll(() => page.textContent('#config-summary'), { timeout: 10_000 }).toContain('patches v2');
    await page.reload();
    await editorReady(page);
    expect(await editorText(page)).toContain('// my own marker 1234');
    expect(await page.textContent('#config-summary')).toContain('patches v2');
    const saved = await page.evaluate((k) => localStorage.getItem(k), SAVED_WORK_KEY);

    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('#share-link').count(), { timeout: 10_000 }).toBe(1);
    const link = await page.inputValue('#share-link');
    expect(link).toMatch(/#v1\/[A-Za-z0-9_-]+$/);
    await screenshot(page, 'share-link');

    // A fresh reader opens the link: same code, same configuration, nothing run.
    const reader = await openPage(app);
    try {
      await reader.page.goto(link);
      await editorReady(reader.page);
      expect(await editorText(reader.page)).toContain('// my own marker 1234');
      expect(await reader.page.textContent('#config-summary')).toContain('patches v2');
      expect(await reader.page.textContent('#banner')).toContain('Nothing has run');
      expect(await status(reader.page).innerText()).toContain('Not run yet');
      expect(await reader.page.evaluate((k) => localStorage.getItem(k), SAVED_WORK_KEY)).toBeNull();
      expect(reader.errors).toEqual([]);
    } finally {
      await reader.context.close();
    }

    // A cut link and a damaged one: a clear message, and the saved work untouched.
    for (const bad of [link.slice(0, link.length - 7), link.replace('#v1/', '#v1/%%%'), `${app.base}#v1/${'A'.repeat(300_000)}`]) {
      await page.goto('about:blank');
      await page.goto(bad);
      await page.waitForSelector('#banner.error');
      expect(await page.textContent('#banner')).toMatch(/This link could not be opened: .+ Your saved work is shown, unchanged\./);
      await editorReady(page);
      expect(await editorText(page)).toContain('// my own marker 1234');
      expect(await page.evaluate((k) => localStorage.getItem(k), SAVED_WORK_KEY)).toBe(saved);
    }
    await screenshot(page, 'damaged-link');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('autocompletion lists the Sys methods from the scenario API', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/lost-update`);
    await editorReady(page);
    await page.click('.monaco-editor .view-lines');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nconst probe = async (sys: import("blocklab").Sys) => { sys.');
    await page.waitForSelector('.suggest-widget.visible', { timeout: 20_000 });
    await expect.poll(() => page.locator('.suggest-widget.visible').innerText(), { timeout: 20_000 }).toMatch(/ioctl[\s\S]*losetup/);
    // Narrowed by what follows the dot: the file calls.
    await page.keyboard.type('readF');
    await expect.poll(() => page.locator('.suggest-widget.visible').innerText(), { timeout: 20_000 }).toContain('readFile');
    await screenshot(page, 'autocomplete');
    await page.keyboard.press('Escape');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('exploring never blocks the main thread: no long task over 50 ms while the explorer runs', async () => {
  const { page, context, errors } = await openPage(app);
  // Long tasks, and the moments the run status changes, in the page's own clock.
  await context.addInitScript(() => {
    const w = window as unknown as { longTasks: { start: number; duration: number }[]; statusTimes: { status: string; t: number }[] };
    w.longTasks = [];
    w.statusTimes = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    addEventListener('DOMContentLoaded', () => {
      new MutationObserver(() => {
        const s = document.querySelector('#run-status')?.getAttribute('data-status');
        if (s && w.statusTimes[w.statusTimes.length - 1]?.status !== s) w.statusTimes.push({ status: s, t: performance.now() });
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
    });
  });
  try {
    // Three actors bumping one counter thirty times each: far more states than 4 seconds can visit.
    await seedSavedWork(page, app.base, [
      'import { scenario, type Sys } from "blocklab";',
      'async function bump(sys: Sys) {',
      '  for (let i = 0; i < 30; i++) {',
      '    const n = Number(await sys.readFile("/run/n"));',
      '    await sys.writeFile("/run/n", String(n + 1));',
      '  }',
      '}',
      'export default scenario({ files: { "/run/n": { content: "0" } }, actors: { a: bump, b: bump, c: bump }, invariants: ["progress"] });',
      '',
    ].join('\n'));
    await page.goto(app.base);
    await editorReady(page);
    await page.fill('#explore-seconds', '4');
    await page.selectOption('#explore-mode', 'exhaustive');
    await page.click('#explore');
    await expect.poll(() => page.textContent('#progress'), { timeout: 10_000 }).toMatch(/[\d,]+ states, [\d,]+ states\/s/);
    const during = await page.textContent('#progress');
    await waitRan(page, 0, 30_000);
    expect(await status(page).innerText()).toMatch(/not complete \(stopped by the seconds bound\)/);
    const m = await page.evaluate(() => {
      const w = window as unknown as { longTasks: { start: number; duration: number }[]; statusTimes: { status: string; t: number }[] };
      return { longTasks: w.longTasks, statusTimes: w.statusTimes };
    });
    const from = m.statusTimes.find((s) => s.status === 'exploring')!.t;
    const to = m.statusTimes.filter((s) => s.t > from).find((s) => s.status === 'idle')!.t;
    const whileExploring = m.longTasks.filter((t) => t.start >= from && t.start < to);
    const longest = Math.max(0, ...whileExploring.map((t) => t.duration));
    console.log(`[long tasks] exploring for ${((to - from) / 1000).toFixed(1)} s (progress ${during}; result: ${await status(page).innerText()}): ${whileExploring.length} long tasks on the main thread, the longest ${longest.toFixed(0)} ms; whole page life: ${m.longTasks.length} long tasks, the longest ${Math.max(0, ...m.longTasks.map((t) => t.duration)).toFixed(0)} ms`);
    expect(to - from).toBeGreaterThan(3500);
    expect(whileExploring.filter((t) => t.duration > 50)).toEqual([]);
    await screenshot(page, 'explore-budget');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a 1,000-step trace scrubs at frame rate; switching the configuration after a run re-runs in place', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await seedSavedWork(page, app.base, [
      'import { scenario } from "blocklab";',
      'export default scenario({',
      '  actors: {',
      '    a: async (sys) => { for (let i = 0; i < 500; i++) await sys.log("a", i); },',
      '    b: async (sys) => { for (let i = 0; i < 500; i++) await sys.log("b", i); },',
      '  },',
      '});',
      '',
    ].join('\n'));
    await page.goto(app.base);
    await editorReady(page);
    await page.click('#run');
    await waitRan(page, 0);
    expect(await page.locator('.timeline .row.step').count()).toBe(1000);
    // Move the slider across the whole trace; each move is an input event, its update and a layout.
    const perMove = await page.evaluate(async () => {
      const slider = document.querySelector<HTMLInputElement>('#step-slider')!;
      const moves = 100;
      const times: number[] = [];
      for (let i = 0; i < moves; i++) {
        const t0 = performance.now();
        slider.value = String((i * 37) % 1001);
        slider.dispatchEvent(new Event('input', { bubbles: true }));
        await Promise.resolve(); // Svelte applies the change in a microtask
        document.querySelector('#step-label')?.getBoundingClientRect(); // style and layout, now
        times.push(performance.now() - t0);
        await new Promise((r) => requestAnimationFrame(r)); // and paint, outside the measure
      }
      times.sort((a, b) => a - b);
      return { median: times[moves >> 1]!, p90: times[Math.floor(moves * 0.9)]!, max: times[moves - 1]! };
    });
    console.log(`[scrub] 1,000-step trace, per slider move (update and layout): median ${perMove.median.toFixed(1)} ms, 90th percentile ${perMove.p90.toFixed(1)} ms, max ${perMove.max.toFixed(1)} ms`);
    // Frame rate: a typical move fits in a 60 Hz frame (the median, so one GC pause on a shared CI core does not decide it).
    expect(perMove.median).toBeLessThan(16);
    expect(await page.textContent('#step-label')).toBe(`${(99 * 37) % 1001} / 1000`);

    // The last thing done was a run: a preset re-runs it with the new configuration.
    const before = await ranCount(page);
    await page.click('[data-preset="rfc-v1"]');
    await waitRan(page, before);
    expect(await page.textContent('#config-summary')).toContain('patches rfc-v1');
    expect(await page.textContent('#verdict')).toBe('pass');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('step mode: the reader schedules the actors by hand, finds the lost update, and can undo', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/lost-update`);
    await editorReady(page);
    await page.click('#step-mode');
    await page.waitForSelector('#step-panel');
    const move = async (actor: string) => {
      const before = await ranCount(page);
      await page.click(`#step-panel [data-actor="${actor}"]`);
      await waitRan(page, before);
    };
    expect(await page.textContent('#step-panel')).toContain('readFile("/run/blocklab/vms-started")');
    // Both read 0 before either writes: the interleaving that loses an update.
    await move('toolstack-a');
    await move('toolstack-b');
    expect(await page.locator('.timeline .row.step').count()).toBe(2);
    expect(await page.textContent('#step-panel')).toContain('writeFile("/run/blocklab/vms-started", "1")');
    await move('toolstack-a');
    await move('toolstack-b');
    expect(await page.textContent('#step-panel')).toContain('You found it');
    expect(await page.textContent('#verdict')).toBe('violation');
    expect(await page.locator('#step-panel [data-actor="toolstack-a"]').isDisabled()).toBe(true);
    expect(await page.textContent('#step-panel')).toContain('the invariant is violated');
    await screenshot(page, 'step-mode-found');
    const before = await ranCount(page);
    await page.click('#step-undo');
    await waitRan(page, before);
    expect(await page.locator('.timeline .row.step').count()).toBe(3);
    expect(await page.locator('#step-panel [data-actor="toolstack-a"]').isDisabled()).toBe(true);
    expect(await page.textContent('#step-panel')).toContain('toolstack-a has finished');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('embed mode shows the editor, the controls and the timeline only; a trace exports as JSON', async () => {
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}?embed=1#example/check-then-act`);
    await editorReady(page);
    expect(await page.locator('#config-heading').count()).toBe(0);
    expect(await page.locator('#lesson').count()).toBe(0);
    expect(await page.locator('#console').count()).toBe(0);
    await page.click('#run');
    await waitRan(page, 0);
    expect(await page.locator('.timeline .row.step').count()).toBeGreaterThan(0);
    await screenshot(page, 'embed');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-trace')]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    const trace = JSON.parse(await readFile(path, 'utf8')) as { format: string; version: number; steps: unknown[] };
    expect(trace.format).toBe('blocklab-trace');
    expect(trace.version).toBe(1);
    expect(trace.steps.length).toBe(await page.locator('.timeline .row.step').count());
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('a link whose configuration this Blocklab does not know opens with the scenario\'s own, and says so', async () => {
  const { encodeShareLink } = await import('../../web/src/api/share-link');
  const link = await encodeShareLink(
    { code: '// from a newer Blocklab\nimport { scenario } from "blocklab";\nexport default scenario({ actors: { a: async (sys) => { await sys.log("hi"); } } });\n', config: { kernel: 'linux-9.9', patches: {} } as never },
    app.base,
  );
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(link);
    await editorReady(page);
    expect(await page.textContent('#banner')).toMatch(/configuration is not one this Blocklab knows \(unknown kernel "linux-9\.9"/);
    expect(await page.textContent('#config-summary')).toContain('linux-6.1');
    await page.click('#run');
    await waitRan(page, 0);
    expect(await page.textContent('#verdict')).toBe('pass');
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
});

test('loop-reuse-race: Explore under its "before" configuration finds the violation; under "after" it completes with none', async () => {
  const { GALLERY } = await import('../../web/src/scenarios/index');
  // The issue's own walk-through: the headline lesson of the series.
  const lesson = GALLERY.find((g) => g.id === 'loop-reuse-race');
  if (!lesson?.before || !lesson.after?.some((a) => !a.scenario)) throw new Error('loop-reuse-race has no before and after configurations');
  const afterIndex = lesson.after!.findIndex((a) => !a.scenario);
  const { page, context, errors } = await openPage(app);
  try {
    await page.goto(`${app.base}#example/${lesson.id}`);
    await editorReady(page);
    await page.click('[data-lesson-config="before"]');
    await page.selectOption('#explore-mode', 'exhaustive');
    await page.click('#explore');
    await waitRan(page, 0, 60_000);
    expect(await page.textContent('#verdict')).toBe('violation');
    expect(await page.locator('.timeline .row.violating').count()).toBe(1);
    await screenshot(page, `lesson-${lesson.id}-before`);

    await page.click(`[data-lesson-config="after-${afterIndex}"]`);
    // The proof takes seconds (tens of thousands of states): a budget that a loaded CI machine cannot overrun.
    await page.fill('#explore-seconds', '240');
    await page.click('#explore');
    await waitRan(page, 1, 300_000);
    expect(await page.textContent('#verdict')).toBe('pass');
    expect(await status(page).innerText()).toContain('complete: every interleaving up to the bounds');
    await screenshot(page, `lesson-${lesson.id}-after`);
    expect(errors).toEqual([]);
  } finally {
    await context.close();
  }
}, 420_000);
