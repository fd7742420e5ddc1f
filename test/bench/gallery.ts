// Gallery exploration times for `npm run bench` (and for measuring a change
// to the models): every lesson with a before/after (or a proof under its own
// configuration), explored exhaustively with the default reductions.
//   before: the time to the first violation (the search stops there; no
//           shortening, no replay: what "found in N ms" means)
//   after:  the time to a complete search with none (the proof)
// The first search of each lesson runs in a cold JavaScript engine (its
// model code not yet compiled); its time is reported on its own. Then
// searches for up to 0.5 s warm the engine up, unmeasured, and the figure
// is the median of the `rounds` searches after that (states and
// transitions are the same every time: the search is deterministic), with
// the CPU time of the process beside the wall clock, since a shared machine
// disturbs the latter. A lesson whose first search takes over 5 s is not
// repeated (its first time is its figure).
//
// Standalone: node test/bench/launch.mjs test/bench/gallery.ts [--rounds N] [--only id,id] [--json]

import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { GALLERY, galleryEntry, type LessonConfig } from "../../web/src/scenarios";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";

export interface GalleryRow {
  lesson: string;
  /** "before", "after", "after 2", ... or "own" for a proof. */
  config: string;
  /** The configuration as the gallery index gives it. */
  detail: string;
  /** "violation" (found), "pass" (complete, none), or what went wrong ("incomplete", "no violation"). */
  outcome: string;
  states: number;
  transitions: number;
  executions: number;
  complete: boolean;
  /** Median wall-clock milliseconds over the rounds after the first (the first alone if it was not repeated). */
  ms: number;
  /** Median CPU milliseconds of the process over the same searches. */
  cpu_ms: number;
  /** The first search's wall-clock milliseconds (a cold engine). */
  first_ms: number;
  /** Searches measured after the first. */
  rounds: number;
}

const load = async (file: string) => (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${file}`, import.meta.url).pathname)).default as ScenarioDefinition;

async function build(id: string, c: LessonConfig, vms?: string[]) {
  const entry = galleryEntry(c.scenario ?? id)!;
  const def = vms
    ? ((await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${entry.file}`, import.meta.url).pathname)) as { lifecycle: (vms: string[]) => ScenarioDefinition }).lifecycle(vms)
    : await load(entry.file);
  return buildScenario(def, resolveConfig(c.kernel ?? def.kernel, c.patches ?? def.patches));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const describe = (c: LessonConfig) => c.scenario ?? `${c.kernel ?? "(own kernel)"} ${typeof c.patches === "string" ? c.patches : JSON.stringify(c.patches ?? "(own patches)")}`;

/** The Xen lessons and the ones with a before/after or a `sometimes` proof; `only` picks some by id. */
interface GalleryCase {
  id: string;
  config: string;
  detail: string;
  c: LessonConfig;
  expect: "violation" | "pass";
  /** qubes-lifecycle with these VMs instead of the lesson's three (its `lifecycle` export). */
  vms?: string[];
}

export function galleryCases(only?: string[]): GalleryCase[] {
  const out: GalleryCase[] = [];
  // A fixed script that is another lesson's "after" is measured there, not again on its own.
  const afters = new Set(GALLERY.flatMap((e) => (e.after ?? []).map((a) => a.scenario).filter((x): x is string => x !== undefined)));
  for (const e of GALLERY) {
    if (only && !only.includes(e.id)) continue;
    if (!only && afters.has(e.id)) continue;
    if (e.before) out.push({ id: e.id, config: "before", detail: describe(e.before), c: e.before, expect: "violation" });
    if (e.after) e.after.forEach((a, i) => out.push({ id: e.id, config: i === 0 ? "after" : `after ${i + 1}`, detail: describe(a), c: a, expect: "pass" }));
    else if (!e.before) out.push({ id: e.id, config: "own", detail: "its own configuration", c: {}, expect: "pass" });
    // The life cycle the lesson cannot prove for three VMs, proved for one.
    if (e.id === "qubes-lifecycle") out.push({ id: e.id, config: "after, one VM", detail: `${describe(e.after![0]!)}, lifecycle(["work"])`, c: e.after![0]!, expect: "pass", vms: ["work"] });
  }
  return out;
}

export async function galleryBench(opts: { rounds?: number; only?: string[]; maxSeconds?: number; log?: (s: string) => void } = {}): Promise<GalleryRow[]> {
  const rounds = opts.rounds ?? 3;
  const REPEAT_BELOW_MS = 5000;
  const WARMUP_MS = 500;
  const rows: GalleryRow[] = [];
  for (const k of galleryCases(opts.only)) {
    const wall: number[] = [];
    const cpu: number[] = [];
    let last: Awaited<ReturnType<typeof exploreExhaustive>> | undefined;
    const search = async () => {
      const b = await build(k.id, k.c, k.vms);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      last = await exploreExhaustive(b.spec, b.props, { maxSeconds: opts.maxSeconds ?? 120 });
      const c = process.cpuUsage(c0);
      return { ms: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
    };
    const first = await search();
    wall.push(first.ms);
    cpu.push(first.cpu);
    if (first.ms <= REPEAT_BELOW_MS && rounds > 0) {
      // Warm-up, not measured: up to WARMUP_MS of searches (at most 10), as the data-plane figures warm up.
      for (let spent = 0, n = 0; spent < WARMUP_MS && n < 10; n++) spent += (await search()).ms;
      for (let r = 0; r < rounds; r++) {
        const x = await search();
        wall.push(x.ms);
        cpu.push(x.cpu);
      }
    }
    const r = last!;
    const found = r.violations.length > 0;
    const outcome = found ? "violation" : r.complete ? (k.expect === "violation" ? "no violation" : "pass") : "incomplete";
    const warm = wall.length > 1 ? wall.slice(1) : wall;
    const warmCpu = cpu.length > 1 ? cpu.slice(1) : cpu;
    const r1 = (x: number) => Math.round(x * 10) / 10;
    const row: GalleryRow = { lesson: k.id, config: k.config, detail: k.detail, outcome, states: r.states, transitions: r.transitions, executions: r.executions, complete: r.complete, ms: r1(median(warm)), cpu_ms: r1(median(warmCpu)), first_ms: r1(wall[0]!), rounds: wall.length - 1 };
    opts.log?.(`gallery: ${row.lesson} ${row.config}: ${row.outcome}, ${row.states} states, ${row.ms} ms (cpu ${row.cpu_ms} ms; first search ${row.first_ms} ms)`);
    rows.push(row);
  }
  return rows;
}

/** The rows as a table: lesson, configuration, outcome, states / transitions, wall and CPU time. */
export function galleryTable(rows: GalleryRow[]): string[][] {
  const fmt = (n: number) => (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US"));
  return [
    ["lesson", "config", "outcome", "states / transitions", "ms (median)", "cpu ms", "first search ms"],
    ...rows.map((r) => [r.lesson, `${r.config}: ${r.detail}`, r.outcome, `${r.states.toLocaleString("en-US")} / ${r.transitions.toLocaleString("en-US")}`, r.rounds > 0 ? fmt(r.ms) : "(not repeated)", r.rounds > 0 ? fmt(r.cpu_ms) : "", fmt(r.first_ms)]),
  ];
}

if (process.argv[1]?.endsWith("gallery.ts")) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf("--rounds");
  const j = argv.indexOf("--only");
  const rows = await galleryBench({ rounds: i >= 0 ? Number(argv[i + 1]) : 3, only: j >= 0 ? argv[j + 1]!.split(",") : undefined, log: (s) => process.stderr.write(s + "\n") });
  if (argv.includes("--json")) process.stdout.write(JSON.stringify(rows) + "\n");
  else {
    const t = galleryTable(rows);
    const w = t[0]!.map((_, c) => Math.max(...t.map((r) => r[c]!.length)));
    process.stdout.write(t.map((r) => r.map((x, c) => x.padEnd(w[c]!)).join("  ").trimEnd()).join("\n") + "\n");
  }
}
