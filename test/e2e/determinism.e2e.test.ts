// Determinism across engines: the same run twice gives identical traces, and
// a schedule token found in Node replays identically in headless Chromium.
//
// How the runtime gets into the browser without touching the production
// build: a Vite dev server (created here, not from vite.config.ts) serves
// web/ and transpiles the TypeScript under web/src on request, with
// "blocklab" mapped to web/src/api as the CLI maps it (bin/blocklab.mjs).
// Only the runtime's own modules are loaded (sim, api, linux/files and the
// gallery scenarios): none of them reaches web/src/core, so neither the wasm
// glue nor anything from node: is pulled in.
//   - Node: the same server's module runner (`ssrLoadModule`), which is what
//     the CLI's `runnerImport` does: one module graph, one copy of the API.
//   - Chromium: the page imports the same URLs with `import()`.
// The page is a blank document on the dev server's origin, supplied by
// Playwright's request routing, instead of web/index.html: the app (Svelte,
// Monaco, the wasm worker) is not what is tested here, would cost seconds to
// transform, and the dev server's dependency optimizer could reload the page
// mid-test. Nothing is added to web/, so nothing ships.
//
// One probe (below) runs in both engines and answers only in strings (the
// JSON texts of results and traces), so the comparison is byte for byte.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium';
import type { ScenarioDefinition } from '../../web/src/api/types';
import type { GalleryEntry } from '../../web/src/scenarios/index';


const WEB = fileURLToPath(new URL('../../web', import.meta.url));
const API = fileURLToPath(new URL('../../web/src/api/index.ts', import.meta.url));

/** The gallery lessons checked here. */
const SCENARIOS = ['lost-update', 'check-then-act'];
/** Seeds for random mode. */
const SEEDS = [1, 2, 3, 7, 42, 0xdeadbeef];

/** The runtime's modules, loaded by each engine from the dev server. */
interface Mods {
  verify: typeof import('../../web/src/sim/verify');
  build: typeof import('../../web/src/api/build');
  config: typeof import('../../web/src/api/config');
  trace: typeof import('../../web/src/sim/trace');
  walk: typeof import('../../web/src/sim/random-walk');
  schedule: typeof import('../../web/src/sim/schedule');
  scenarios: Record<string, ScenarioDefinition>;
}

/** Module URLs on the dev server (root web/). */
function moduleUrls(gallery: readonly GalleryEntry[]) {
  return {
    verify: '/src/sim/verify.ts',
    build: '/src/api/build.ts',
    config: '/src/api/config.ts',
    trace: '/src/sim/trace.ts',
    walk: '/src/sim/random-walk.ts',
    schedule: '/src/sim/schedule.ts',
    scenarios: Object.fromEntries(
      SCENARIOS.map((id) => {
        const e = gallery.find((g) => g.id === id);
        if (!e) throw new Error(`gallery has no scenario ${id}`);
        return [id, `/src/scenarios/${e.file}`];
      }),
    ),
  };
}
type Urls = ReturnType<typeof moduleUrls>;

/**
 * Loads the modules through `imp`. Sent to the page as source text, so it
 * uses nothing but its parameters (no imports, no closures).
 */
async function loadModules(imp: (url: string) => Promise<any>, urls: Urls): Promise<Mods> {
  const scenarios: Record<string, ScenarioDefinition> = {};
  for (const [id, url] of Object.entries(urls.scenarios)) scenarios[id] = (await imp(url)).default;
  return {
    verify: await imp(urls.verify),
    build: await imp(urls.build),
    config: await imp(urls.config),
    trace: await imp(urls.trace),
    walk: await imp(urls.walk),
    schedule: await imp(urls.schedule),
    scenarios,
  };
}

interface ProbeInput {
  scenario: string;
  /** A token found elsewhere (in Node) to replay here. */
  foreignToken?: string;
  seeds: number[];
}

interface RunText {
  /** The whole VerifyResult as JSON text. */
  result: string;
  /** traceText of the first violation's trace, or of the run's trace. */
  trace: string;
  schedule: string;
  invariant: string;
  message: string;
}

interface ProbeOutput {
  engine: string;
  explore: RunText[];
  /** Run mode with this engine's own explore token, twice. */
  replay: RunText[];
  /** Run mode with the foreign token, twice. */
  foreign: RunText[];
  /** Run mode with no schedule (the default order), twice. */
  plain: RunText[];
  /** Random mode, per seed, twice each. */
  random: Record<string, RunText[]>;
  /**
   * The random walk's own executions per seed, before verify shortens the
   * counterexample (which hides which interleavings the seed drew): each
   * execution's schedule token, and the invariant it violated.
   */
  sampled: Record<string, string>;
}

/**
 * The same work in each engine. Runs in the page through page.evaluate
 * (serialized as source), so it reads the modules from a global and
 * refers to nothing outside itself.
 */
async function probe(input: ProbeInput): Promise<ProbeOutput> {
  const m = (globalThis as unknown as { __blocklab: Mods }).__blocklab;
  const def = m.scenarios[input.scenario]!;
  const text = (v: unknown) =>
    JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x));
  // A fresh build for every run: nothing carried over from the run before.
  const once = async (opts: Parameters<Mods['verify']['verify']>[2]): Promise<RunText> => {
    const b = m.build.buildScenario(def, m.config.resolveConfig(def.kernel, def.patches));
    const r = await m.verify.verify(b.spec, b.props, opts);
    const v = r.violations[0];
    const trace = v?.trace ?? r.trace;
    return {
      result: text(r),
      trace: trace ? m.trace.traceText(trace) : '',
      schedule: v?.schedule ?? '',
      invariant: v?.invariant ?? '',
      message: v?.message ?? '',
    };
  };
  const twice = async (opts: Parameters<Mods['verify']['verify']>[2]) => [await once(opts), await once(opts)];

  const explore = await twice({ mode: 'explore' });
  const token = explore[0]!.schedule;
  const out: ProbeOutput = {
    engine: typeof navigator === 'undefined' ? 'node' : navigator.userAgent,
    explore,
    replay: await twice({ mode: 'run', schedule: token }),
    foreign: input.foreignToken === undefined ? [] : await twice({ mode: 'run', schedule: input.foreignToken }),
    plain: await twice({ mode: 'run' }),
    random: {},
    sampled: {},
  };
  for (const seed of input.seeds) out.random[seed] = await twice({ mode: 'random', seed });
  for (const seed of input.seeds) {
    const b = m.build.buildScenario(def, m.config.resolveConfig(def.kernel, def.patches));
    const runs: string[] = [];
    const r = await m.walk.randomWalk(b.spec, b.props, {
      seed,
      maxExecutions: 100,
      onExecution: (e) => runs.push(`${m.schedule.encodeSchedule(e.path)}${e.violation ? ` ${e.violation.invariant}` : ''}`),
    });
    out.sampled[seed] = text({ runs, executions: r.executions, steps: r.steps, stoppedBy: r.stoppedBy });
  }
  return out;
}

let server: ViteDevServer | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
const pageErrors: string[] = [];
let urls: Urls;

beforeAll(async () => {
  server = await createServer({
    root: WEB,
    configFile: false,
    logLevel: 'error',
    // No index.html handling: the page below is supplied by the test.
    appType: 'custom',
    resolve: { alias: { blocklab: API } },
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    // The runtime has no bare imports; don't crawl web/ for dependencies.
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const base = server.resolvedUrls?.local[0];
  if (!base) throw new Error('the Vite dev server did not report a local URL');

  const gallery: readonly GalleryEntry[] = (await server.ssrLoadModule('/src/scenarios/index.ts')).GALLERY;
  urls = moduleUrls(gallery);
  (globalThis as unknown as { __blocklab: Mods }).__blocklab = await loadModules((u) => server!.ssrLoadModule(u), urls);

  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  const blank = new URL('determinism.html', base).href;
  await page.route(blank, (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>determinism</title>' }),
  );
  // core/load.ts has a dynamic import() of a variable (node:fs, for Node), for
  // which the dev server imports injectQuery from Vite's client; the real
  // client would then dial the HMR socket this server does not have. The
  // client is dev tooling, not the code under test: a stub stands in for it.
  await page.route(/\/@vite\/client(\?.*)?$/, (route) =>
    route.fulfill({ contentType: 'text/javascript', body: 'export const injectQuery = (url) => url;' }),
  );
  await page.goto(blank);
  // A string, so the test runner's transform leaves `import()` alone.
  await page.evaluate(
    `(${loadModules.toString()})((u) => import(u), ${JSON.stringify(urls)}).then((m) => { globalThis.__blocklab = m; })`,
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  delete (globalThis as { __blocklab?: unknown }).__blocklab;
});

describe.each(SCENARIOS)('%s', (scenario) => {
  let node: ProbeOutput;
  let web: ProbeOutput;

  beforeAll(async () => {
    node = await probe({ scenario, seeds: SEEDS });
    const token = node.explore[0]!.schedule;
    web = await page!.evaluate(probe, { scenario, foreignToken: token, seeds: SEEDS });
    expect(node.engine).toBe('node');
    expect(web.engine).toContain('Chrome');
  });

  test('explore finds a violation with a token', () => {
    for (const r of [...node.explore, ...web.explore]) {
      expect(JSON.parse(r.result).verdict).toBe('violation');
      expect(r.schedule).toMatch(/^1\./);
      expect(r.trace).not.toBe('');
    }
  });

  test('the same run twice gives identical text, in each engine', () => {
    for (const out of [node, web]) {
      for (const pair of [out.explore, out.replay, out.plain, ...Object.values(out.random)]) {
        expect(pair[1]).toEqual(pair[0]);
      }
      expect(out.foreign[1]).toEqual(out.foreign[0]);
    }
  });

  test('explore gives the same token and trace text in Node and in Chromium', () => {
    expect(web.explore[0]!.schedule).toBe(node.explore[0]!.schedule);
    expect(web.explore[0]!.trace).toBe(node.explore[0]!.trace);
    // The whole result too: counts, shortening, segments, racing pair.
    expect(web.explore[0]!.result).toBe(node.explore[0]!.result);
  });

  test("the token found in Node replays identically in Chromium", () => {
    const found = node.explore[0]!;
    const replayed = web.foreign[0]!;
    expect(JSON.parse(replayed.result).verdict).toBe('violation');
    expect(replayed.invariant).toBe(found.invariant);
    expect(replayed.message).toBe(found.message);
    expect(replayed.schedule).toBe(found.schedule);
    // The replay's trace is the trace explore reported, byte for byte...
    expect(replayed.trace).toBe(found.trace);
    // ...and the whole run-mode result is Node's own replay of its token.
    expect(replayed.result).toBe(node.replay[0]!.result);
    expect(web.replay[0]!.result).toBe(node.replay[0]!.result);
  });

  test('run mode in the default order is the same in both engines', () => {
    expect(web.plain[0]).toEqual(node.plain[0]);
  });

  test('random mode with the same seed gives the same result in both engines', () => {
    for (const seed of SEEDS) expect(web.random[seed], `seed ${seed}`).toEqual(node.random[seed]);
    for (const seed of SEEDS) expect(web.sampled[seed], `seed ${seed}`).toBe(node.sampled[seed]);
    // Not vacuous: the seeds do draw different interleavings.
    expect(new Set(Object.values(node.sampled)).size).toBeGreaterThan(1);
  });

  test('the page logged no errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
