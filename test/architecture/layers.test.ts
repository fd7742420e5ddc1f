// The layers of README.md's table are true: every import under web/src goes
// from a folder to itself or to a folder this table allows, and no file
// reaches itself through its imports. A new edge between folders is a
// decision: add it here, with its reason, or do without it.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cycles, importsOf, layerOf, sourceFiles, type ImportEdge } from "./imports";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Each folder of web/src, top to bottom, with the folders it may import. */
export const ALLOWED: Record<string, readonly string[]> = {
  // The page's entry point mounts the app.
  "main.ts": ["ui"],
  // The page talks to the engine through the worker protocol; it also reads
  // the trace and schedule formats (sim's types and codec), the public
  // configuration and share links (api), the gallery's index (scenarios),
  // and runs the data plane's demo itself (core/demo.ts).
  ui: ["worker", "api", "scenarios", "sim", "core"],
  // Off the main thread: load a scenario through api, run it with sim, and
  // turn the world into views (the models' objects, the data plane's rings).
  worker: ["api", "sim", "xen", "linux", "core"],
  // The same from Node; `blocklab gallery` lists the lessons.
  cli: ["api", "scenarios", "sim"],
  // Lessons: scenario files, written against the public API.
  scenarios: ["api"],
  // What a scenario imports, and the composition root that builds a machine.
  api: ["userland", "xen", "linux", "sim", "core"],
  // Programs over Sys (losetup, dmsetup, xl, hotplug scripts).
  userland: ["xen", "linux", "sim"],
  // Hypervisor, xenstored, xenbus, blkback, blkfront: over the kernel model.
  xen: ["linux", "sim", "core"],
  // One domain's kernel.
  linux: ["sim", "core"],
  // The generic engine: knows nothing of Linux or Xen.
  sim: [],
  // The WebAssembly facade.
  core: [],
};

/**
 * The public contract `blocklab.d.ts` declares module "blocklab": any layer
 * may take its types (it is declarations only, and imports nothing), but
 * only a scenario imports its values (at run time "blocklab" is the api).
 */
const CONTRACT = "blocklab";

/** What an edge breaks, or undefined when it is allowed. */
export function violation(e: ImportEdge): string | undefined {
  const from = layerOf(e.from);
  const at = `${e.from}:${e.line}`;
  if (e.specifier === CONTRACT) {
    return e.typeOnly || from === "scenarios" ? undefined : `${at} imports values from "blocklab" (only scenarios may; others take its types with \`import type\`)`;
  }
  if (e.to === undefined) return undefined; // a package, or node:*
  if (!e.to.startsWith("web/src/")) return from === "core" && e.to.startsWith("web/wasm/") ? undefined : `${at} reaches outside web/src: ${e.to}`;
  const to = layerOf(e.to);
  if (to === from) return undefined;
  const allowed = ALLOWED[from];
  if (allowed === undefined) return `${at}: folder ${from} is not in the layer table`;
  return allowed.includes(to) ? undefined : `${at}: ${from} → ${to} (${e.specifier}) is not an allowed edge`;
}

const edges = sourceFiles(ROOT).flatMap((f) => importsOf(ROOT, f));

describe("architecture", () => {
  it("sees the imports (the parse is not vacuous)", () => {
    expect(edges.length).toBeGreaterThan(500);
    const layers = new Set(edges.map((e) => layerOf(e.from)));
    for (const l of Object.keys(ALLOWED)) expect(layers, l).toContain(l);
    // Each kind of import the parser tells apart is present.
    expect(edges.some((e) => e.typeOnly && e.to?.startsWith("web/src/sim/"))).toBe(true);
    expect(edges.some((e) => e.from === "web/src/worker/client.ts" && e.to === "web/src/worker/run.worker.ts")).toBe(true);
    expect(edges.some((e) => e.from === "web/src/ui/App.svelte" && e.to === "web/src/core/demo.ts")).toBe(true);
  });

  it("every folder of web/src is in the layer table", () => {
    const folders = new Set(sourceFiles(ROOT).map(layerOf));
    expect([...folders].filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it("imports go only along allowed edges", () => {
    expect(edges.map(violation).filter((v) => v !== undefined)).toEqual([]);
  });

  it("the allowed edges go down: no folder can reach itself through another", () => {
    const reach = (from: string, seen = new Set<string>()): Set<string> => {
      for (const to of ALLOWED[from] ?? []) if (!seen.has(to)) reach(to, seen.add(to));
      return seen;
    };
    expect(Object.keys(ALLOWED).filter((f) => reach(f).has(f))).toEqual([]);
  });

  it("no file-level import cycles (type-only imports included)", () => {
    expect(cycles(edges)).toEqual([]);
  });

  it("the checks catch what they are for", () => {
    const upward: ImportEdge = { from: "web/src/linux/bdev.ts", specifier: "../xen/domain", to: "web/src/xen/domain.ts", typeOnly: false, line: 1 };
    expect(violation(upward)).toMatch(/linux → xen/);
    expect(violation({ ...upward, specifier: "blocklab", to: undefined })).toMatch(/values from "blocklab"/);
    expect(cycles([
      { ...upward, from: "a.ts", to: "b.ts" },
      { ...upward, from: "b.ts", to: "a.ts" },
    ])).toEqual([["a.ts", "b.ts"]]);
  });
});
