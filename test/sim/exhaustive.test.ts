import { describe, expect, it } from "vitest";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";
import { props, toyScenario, varIs } from "../support/toy";

describe("exhaustive search on small models with known answers", () => {
  it("actors touching disjoint objects explore a single path", async () => {
    const spec = toyScenario({
      a: async (s) => { for (let i = 0; i < 3; i++) await s.write("x", i); },
      b: async (s) => { for (let i = 0; i < 3; i++) await s.write("y", i); },
      c: async (s) => { for (let i = 0; i < 3; i++) await s.write("z", i); },
    });
    const r = await exploreExhaustive(spec, props());
    expect(r.complete).toBe(true);
    expect(r.executions).toBe(1);
    expect(r.states).toBe(10); // 9 steps, one path
    const cachedOnly = await exploreExhaustive(spec, props(), { por: false });
    expect(cachedOnly.states).toBe(64); // every combination of positions: 4 x 4 x 4
    const naive = await exploreExhaustive(spec, props(), { por: false, sleepSets: false, caching: false });
    expect(naive.executions).toBe(1680); // 9! / (3! 3! 3!)
  });

  it("finds the lost update of two unlocked read-modify-writes, and none with the lock", async () => {
    const incr = (locked: boolean) => async (s: import("../support/toy").ToySys) => {
      if (locked) await s.lock("L");
      const v = await s.read("n");
      await s.write("n", v + 1);
      if (locked) await s.unlock("L");
    };
    const racy = await exploreExhaustive(toyScenario({ a: incr(false), b: incr(false) }), props([varIs("n", 2)]));
    expect(racy.violations).toHaveLength(1);
    expect(racy.violations[0]!.message).toBe("n is 1, expected 2");
    const safe = await exploreExhaustive(toyScenario({ a: incr(true), b: incr(true) }), props([varIs("n", 2)]));
    expect(safe.violations).toEqual([]);
    expect(safe.complete).toBe(true);
  });

  it("finds the ABBA deadlock", async () => {
    const spec = toyScenario({
      a: async (s) => { await s.lock("A"); await s.lock("B"); await s.unlock("B"); await s.unlock("A"); },
      b: async (s) => { await s.lock("B"); await s.lock("A"); await s.unlock("A"); await s.unlock("B"); },
    });
    const r = await exploreExhaustive(spec, props());
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]!.invariant).toBe("progress");
    expect(r.violations[0]!.message).toMatch(/deadlock: nothing can move; a waits in lock until B is free; b waits in lock until A is free/);
  });

  it("finds the check-then-act race, and explores an allocation failure as a choice point", async () => {
    const spec = toyScenario({
      a: async (s) => { if ((await s.read("slot")) === 0) await s.write("slot", 1); },
      b: async (s) => { if ((await s.read("slot")) === 0) await s.write("slot", 2); },
    });
    const claimedOnce = { name: "claimed once", check: (e: import("../../web/src/sim/execution").Execution) => {
      const writes = e.steps.filter((st) => st.call === "write").length;
      return writes > 1 ? `slot claimed ${writes} times` : undefined;
    } };
    const r = await exploreExhaustive(spec, props([claimedOnce]));
    expect(r.violations.map((v) => v.message)).toEqual(["slot claimed 2 times"]);

    const failing = toyScenario({ a: async (s) => { try { await s.alloc("p"); } catch { await s.write("failed", 1); } } });
    const all = await exploreExhaustive(failing, props(), { collectEndStates: true });
    expect(all.executions).toBe(2);
  });

  it("the reductions keep every end state and every violation of a naive search", async () => {
    const spec = toyScenario({
      a: async (s) => { const v = await s.read("n"); await s.write("n", v + 1); await s.write("x", 1); },
      b: async (s) => { await s.write("x", 2); const v = await s.read("n"); await s.write("n", v + 10); },
      c: async (s) => { await s.lock("L"); await s.write("y", await s.read("x")); await s.unlock("L"); },
    });
    const reduced = await exploreExhaustive(spec, props(), { collectEndStates: true });
    const naive = await exploreExhaustive(spec, props(), { collectEndStates: true, por: false, sleepSets: false, caching: false });
    expect([...reduced.endStates].sort()).toEqual([...naive.endStates].sort());
    expect(reduced.states).toBeLessThan(naive.states);
  });
});

describe("any number of actors (sets of actors span as many words as needed)", () => {
  // Four actors racing on one counter, one of them with a lock, among idle
  // actors that finish at once: the same search whether the four sit at
  // 0..3 or are spread over two words of the actor sets (indices 2, 33,
  // 35, 39 of 40), and the same end states with every reduction as with
  // caching alone.
  const incr = (locked: boolean) => async (s: import("../support/toy").ToySys) => {
    if (locked) await s.lock("L");
    await s.write("n", (await s.read("n")) + 1);
    if (locked) await s.unlock("L");
  };
  const idle = async () => {};
  const racers = [incr(false), incr(true), incr(false), incr(true)];
  const spread = (at: number[], n: number) =>
    toyScenario(Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, at.includes(i) ? racers[at.indexOf(i)]! : idle])));

  it("explores 40 actors as it explores the 4 that move", async () => {
    const p = () => props([varIs("n", 4)]);
    const opts = { stopAtFirst: false, collectEndStates: true, debug: true };
    const compact = await exploreExhaustive(spread([0, 1, 2, 3], 4), p(), opts);
    const wide = await exploreExhaustive(spread([2, 33, 35, 39], 40), p(), opts);
    expect(compact.violations.map((v) => v.invariant)).toEqual(["n = 4"]);
    expect(wide.violations.map((v) => v.invariant)).toEqual(["n = 4"]);
    expect([wide.states, wide.transitions, wide.executions, wide.complete]).toEqual([compact.states, compact.transitions, compact.executions, true]);
    const cachingOnly = await exploreExhaustive(spread([2, 33, 35, 39], 40), p(), { ...opts, por: false, sleepSets: false });
    expect(wide.endStates).toEqual(cachingOnly.endStates);
    expect(cachingOnly.states).toBeGreaterThan(wide.states);
  });
});
