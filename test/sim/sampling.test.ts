import { describe, expect, it } from "vitest";
import type { Transition } from "../../web/src/sim/execution";
import { pct, pctPicker, pctPortfolio } from "../../web/src/sim/pct";
import { randomWalk, type SampledExecution } from "../../web/src/sim/random-walk";
import { replaySchedule } from "../../web/src/sim/replay";
import { Rng } from "../../web/src/sim/rng";
import { encodeSchedule } from "../../web/src/sim/schedule";
import { segments } from "../../web/src/sim/segments";
import { preemptions } from "../../web/src/sim/shorten";
import { props, toyScenario, varIs, type ToySys } from "../support/toy";

// The lost update of test/sim/exhaustive.test.ts: two unlocked read-modify-writes.
const incr = async (s: ToySys) => { const v = await s.read("n"); await s.write("n", v + 1); };
const lostUpdate = () => toyScenario({ a: incr, b: incr });
const lost = props([varIs("n", 2)]);

// Three actors with several steps each and no violation: for comparing interleavings.
const busy = () => toyScenario({
  a: async (s) => { for (let i = 0; i < 3; i++) await s.write("x", i); },
  b: async (s) => { for (let i = 0; i < 3; i++) await s.write("y", await s.read("x")); },
  c: async (s) => { await s.lock("L"); await s.write("z", 1); await s.unlock("L"); try { await s.alloc("p"); } catch { /* failed */ } },
}, {}, [{}, {}, { mayCrash: true }]);

async function collect(run: (onExecution: (r: SampledExecution) => void) => Promise<unknown>): Promise<{ result: unknown; runs: SampledExecution[] }> {
  const runs: SampledExecution[] = [];
  const result = await run((r) => runs.push(r));
  return { result, runs };
}

describe("random walk", () => {
  it("the same seed gives identical results; different seeds explore different interleavings", async () => {
    const go = (seed: number) => collect((onExecution) => randomWalk(busy(), props(), { seed, maxExecutions: 40, killProbability: 0.1, onExecution }));
    const one = await go(1);
    const again = await go(1);
    expect(again.result).toEqual(one.result);
    expect(again.runs.map((r) => encodeSchedule(r.path))).toEqual(one.runs.map((r) => encodeSchedule(r.path)));
    expect(again.runs.map((r) => r.steps)).toEqual(one.runs.map((r) => r.steps));
    const other = await go(2);
    expect(other.runs.map((r) => encodeSchedule(r.path))).not.toEqual(one.runs.map((r) => encodeSchedule(r.path)));
    // Within one walk the executions differ too, and deaths and choice values are drawn.
    const distinct = new Set(one.runs.map((r) => encodeSchedule(r.path)));
    expect(distinct.size).toBeGreaterThan(20);
    expect(one.runs.some((r) => r.path.some((t) => t.kill))).toBe(true);
    expect(one.runs.some((r) => r.path.some((t) => t.choices?.[0] === 1))).toBe(true);
    expect(one.result).toMatchObject({ violations: [], executions: 40, stoppedBy: "executions", truncated: 0 });
  });

  it("finds the lost update within a few hundred executions, and its path replays to it", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await randomWalk(lostUpdate(), lost, { seed, maxExecutions: 300 });
      expect(r.stoppedBy).toBe("violation");
      expect(r.violations[0]!.message).toBe("n is 1, expected 2");
      const again = await replaySchedule(lostUpdate(), lost, r.violations[0]!.path);
      expect(again.violation).toEqual(r.violations[0]);
    }
  });

  it("stops at maxSteps and at the time bound of an injected clock", async () => {
    const r = await randomWalk(busy(), props(), { seed: 3, maxExecutions: 10, maxSteps: 4 });
    expect(r.truncated).toBe(10);
    expect(r.steps).toBe(40);
    let t = 0;
    const timed = await randomWalk(busy(), props(), { seed: 3, maxExecutions: 1000, maxSeconds: 1, now: () => (t += 100) });
    expect(timed.stoppedBy).toBe("seconds");
    expect(timed.executions).toBeLessThan(12);
  });
});

describe("PCT", () => {
  it("depth 1 never preempts (no actor here waits for another): each execution runs actors in priority order, and cannot find the lost update", async () => {
    const { runs } = await collect((onExecution) => pct(busy(), props(), { seed: 11, depth: 1, maxExecutions: 60, onExecution }));
    expect(runs).toHaveLength(60);
    const orders = new Set<string>();
    for (const r of runs) {
      expect(preemptions(r.path, r.enabled)).toBe(0);
      // No actor here ever waits for another, so each runs to its end in one go.
      const segs = segments(r.path, r.steps, ["a", "b", "c"]);
      expect(segs.length).toBeLessThanOrEqual(3);
      expect(new Set(segs.map((s) => s.actor)).size).toBe(segs.length);
      orders.add(segs.map((s) => s.actor).join(""));
    }
    expect(orders.size).toBe(6); // every priority order shows up

    // The order is the priorities': the picker of one execution, looked at directly.
    const picker = pctPicker(new Rng(5), 3, 1, 10);
    const r = await replayWith(picker);
    const byPriority = [0, 1, 2].sort((x, y) => picker.priorities[y]! - picker.priorities[x]!);
    expect(segments(r, [], ["a", "b", "c"]).map((s) => s.actor)).toEqual(byPriority.map((i) => "abc"[i]));

    // And so depth 1 cannot find a lost update, which needs a preemption.
    const none = await pct(lostUpdate(), lost, { seed: 1, depth: 1, maxExecutions: 200 });
    expect(none.violations).toEqual([]);
  });

  it("depth 2 finds the lost update; so does the portfolio of depths 1, 2, 3", async () => {
    for (const seed of [1, 2, 3]) {
      const r = await pct(lostUpdate(), lost, { seed, depth: 2, maxExecutions: 100 });
      expect(r.violations.map((v) => v.message)).toEqual(["n is 1, expected 2"]);
      const { runs } = await collect((onExecution) => pct(lostUpdate(), lost, { seed, depth: 2, maxExecutions: 100, onExecution }));
      for (const x of runs) expect(preemptions(x.path, x.enabled)).toBeLessThanOrEqual(1);
      const p = await pctPortfolio(lostUpdate(), lost, { seed, maxExecutions: 300 });
      expect(p.stoppedBy).toBe("violation");
      expect(p.executions % 3).not.toBe(1); // never found by a depth-1 execution
    }
    // Same seed, same result.
    const a = await pctPortfolio(busy(), props(), { seed: 9, maxExecutions: 30 });
    const b = await pctPortfolio(busy(), props(), { seed: 9, maxExecutions: 30 });
    expect(b).toEqual(a);
  });
});

/** Runs busy() to its end with one PCT picker, returning the path. */
async function replayWith(picker: ReturnType<typeof pctPicker>): Promise<Transition[]> {
  const { Execution } = await import("../../web/src/sim/execution");
  const exec = new Execution(busy());
  await exec.start();
  const path: Transition[] = [];
  for (let en = exec.enabled(); en.length > 0; en = exec.enabled()) {
    const t = picker.pick(exec, en, path.length);
    path.push(t);
    await exec.step(t);
  }
  return path;
}
