import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Execution, type ExecutionSpec, type Transition } from "../../web/src/sim/execution";
import { enabledTransitions, type FoundViolation } from "../../web/src/sim/exhaustive";
import { checkAfterStep, checkAtEnd, type Invariant, type Properties } from "../../web/src/sim/properties";
import { pctPortfolio } from "../../web/src/sim/pct";
import { randomWalk } from "../../web/src/sim/random-walk";
import { replaySchedule } from "../../web/src/sim/replay";
import { preemptions, shorten, shortenWithStats } from "../../web/src/sim/shorten";
import { props, toyScenario, varIs, type ToySys } from "../support/toy";

const incr = async (s: ToySys) => { const v = await s.read("n"); await s.write("n", v + 1); };
const noise = (v: string, k: number) => async (s: ToySys) => { for (let i = 0; i < k; i++) await s.write(v, i); };

/**
 * Every execution of a small model, no reduction: for each one that
 * violates `invariant` (ending there, as explorations do), its preemptions
 * and length. Returns the least (preemptions, length) pair.
 */
async function bruteForceBest(spec: ExecutionSpec, p: Properties, invariant: string): Promise<{ preemptions: number; length: number; count: number }> {
  const exec = new Execution(spec);
  await exec.start();
  const path: Transition[] = [];
  const enabled: number[][] = [];
  let best = { preemptions: Infinity, length: Infinity, count: 0 };
  const note = () => {
    const pr = preemptions(path, enabled);
    best.count++;
    if (pr < best.preemptions || (pr === best.preemptions && path.length < best.length)) best = { ...best, preemptions: pr, length: path.length };
  };
  const visit = async (): Promise<void> => {
    const en = enabledTransitions(exec);
    if (en.length === 0) {
      if (checkAtEnd(exec, p, new Set())?.invariant === invariant) note();
      return;
    }
    const cp = exec.checkpoint();
    const actors = exec.enabled();
    for (const t of en) {
      await exec.step(t);
      path.push(t);
      enabled.push(actors);
      const v = checkAfterStep(exec, p, new Set());
      if (v) { if (v.invariant === invariant) note(); } else await visit();
      path.pop();
      enabled.pop();
      await exec.restore(cp);
    }
    exec.release(cp);
  };
  await visit();
  return best;
}

async function measure(spec: ExecutionSpec, p: Properties, v: FoundViolation) {
  const r = await replaySchedule(spec, p, v.path);
  expect(r.divergence).toBeUndefined();
  expect(r.violation?.invariant).toBe(v.invariant);
  expect(r.continuedAt).toBeUndefined();
  return { preemptions: preemptions(r.taken, r.enabled), length: r.taken.length };
}

describe("shortening a counterexample (iterative context bounding)", () => {
  it("preemptions count only switches away from an actor that could still move", () => {
    const t = (...a: number[]) => a.map((actor) => ({ actor }));
    expect(preemptions(t(0, 1, 1, 0), [[0, 1], [0, 1], [1], [0]])).toBe(1);
    expect(preemptions(t(0, 1, 0, 1), [[0, 1], [0, 1], [0, 1], [0, 1]])).toBe(3);
    expect(preemptions(t(0, 0, 1, 1), [[0, 1], [0, 1], [1], [1]])).toBe(0); // 0 had finished
  });

  it("turns a random walk's noisy lost update into one with the fewest preemptions, no longer than any other with that count (checked by brute force)", async () => {
    const spec = () => toyScenario({ a: incr, noise: noise("x", 4), b: incr });
    const p = props([varIs("n", 2)]);
    // A long, preemption-heavy counterexample: the first one a random walk finds.
    const walk = await randomWalk(spec(), p, { seed: 3, maxExecutions: 500 });
    const found = walk.violations[0]!;
    const before = await measure(spec(), p, found);
    expect(before.preemptions).toBeGreaterThan(1);

    const r = await shortenWithStats(spec(), p, found);
    expect(r.complete).toBe(true);
    expect(r.reproduced).toBe(true);
    expect(r.originalPreemptions).toBe(before.preemptions);
    const after = await measure(spec(), p, r.violation);
    expect(r.violation.invariant).toBe(found.invariant);
    expect(r.violation.message).toBe("n is 1, expected 2");
    expect(after.preemptions).toBe(r.preemptions);
    const brute = await bruteForceBest(spec(), p, found.invariant);
    expect(brute.count).toBeGreaterThan(50);
    expect(after).toEqual({ preemptions: brute.preemptions, length: brute.length });
    expect(after).toEqual({ preemptions: 1, length: 8 }); // noise runs to its end unpreempted; one switch in the middle of a's increment
    expect(after.length).toBeLessThanOrEqual(found.path.length);

    // Checked after every step, the lost update needs no noise at all: fewer steps too.
    const lostOnceDone: Invariant = {
      name: "no lost update",
      check: (e) => {
        const done = e.actors.filter((x) => x.who.name !== "noise" && x.status === "done").length;
        const n = e.store.peek<number>("var:n") ?? 0;
        return done === 2 && n !== 2 ? `both increments done, n is ${n}` : undefined;
      },
    };
    const q = props([lostOnceDone]);
    const walk2 = await randomWalk(spec(), q, { seed: 5, maxExecutions: 500 });
    const long = await measure(spec(), q, walk2.violations[0]!);
    expect(long.length).toBeGreaterThan(4);
    expect(long.preemptions).toBeGreaterThan(1);
    const short2 = await shorten(spec(), q, walk2.violations[0]!);
    const after2 = await measure(spec(), q, short2);
    const brute2 = await bruteForceBest(spec(), q, "no lost update");
    expect(after2).toEqual({ preemptions: brute2.preemptions, length: brute2.length });
    expect(after2).toEqual({ preemptions: 1, length: 4 });
  });

  it("agrees with brute force on an every-step invariant, with deaths, choice points and a lock", async () => {
    const bothOwn: Invariant = {
      name: "one owner",
      check: (e) => (e.store.peek("var:ownA") === 1 && e.store.peek("var:ownB") === 1 ? "a and b both own the slot" : undefined),
    };
    const claim = (me: string) => async (s: ToySys) => {
      if ((await s.read("slot")) === 0) { await s.write("slot", 1); await s.write(me, 1); }
    };
    const spec = () => toyScenario({
      c: async (s) => { await s.lock("L"); try { await s.alloc("p"); } catch { await s.write("y", 1); } await s.unlock("L"); },
      a: claim("ownA"),
      b: claim("ownB"),
    }, {}, [{ mayCrash: true }]);
    const p = props([bothOwn]);
    const walk = await randomWalk(spec(), p, { seed: 2, maxExecutions: 2000, killProbability: 0.2 });
    const found = walk.violations[0]!;
    expect(found.invariant).toBe("one owner");
    const before = await measure(spec(), p, found);
    const short = await shorten(spec(), p, found);
    const after = await measure(spec(), p, short);
    const brute = await bruteForceBest(spec(), p, "one owner");
    expect(after).toEqual({ preemptions: brute.preemptions, length: brute.length });
    expect(after.preemptions).toBeLessThanOrEqual(before.preemptions);
    expect(after.length).toBeLessThanOrEqual(found.path.length);
  });

  it("gives back the original when it is already minimal, and the best so far when a bound stops it", async () => {
    const spec = () => toyScenario({ a: incr, b: incr });
    const p = props([varIs("n", 2)]);
    const minimal: FoundViolation = { invariant: "n = 2", message: "n is 1, expected 2", path: [0, 1, 1, 0].map((actor) => ({ actor })) };
    const r = await shortenWithStats(spec(), p, minimal);
    expect(r).toMatchObject({ violation: minimal, preemptions: 1, originalPreemptions: 1, complete: true });

    const noisy = () => toyScenario({ a: incr, noise: noise("x", 4), b: incr });
    const walk = await randomWalk(noisy(), p, { seed: 4, maxExecutions: 500 });
    const stopped = await shortenWithStats(noisy(), p, walk.violations[0]!, { maxStates: 3 });
    expect(stopped.complete).toBe(false);
    expect(stopped.violation.path).toEqual(walk.violations[0]!.path);
  });

  it("on random small programs (locks, tryLock, allocations that may fail, a crashing actor), shorten finds the brute-force minimum", async () => {
    type Instr = { op: "incr" | "try" | "alloc" | "locked"; v: string; l: string } | { op: "write"; v: string; x: number };
    const v = fc.constantFrom("a", "b", "c");
    const l = fc.constantFrom("L", "M");
    const instr: fc.Arbitrary<Instr> = fc.oneof(
      fc.record({ op: fc.constantFrom("incr" as const, "try" as const, "alloc" as const, "locked" as const), v, l }),
      fc.record({ op: fc.constant("write" as const), v, x: fc.integer({ min: 0, max: 3 }) }),
    );
    const run = async (s: ToySys, prog: Instr[]) => {
      for (const i of prog) {
        if (i.op === "write") { await s.write(i.v, i.x); continue; }
        switch (i.op) {
          case "incr": await s.write(i.v, (await s.read(i.v)) + 1); break;
          case "locked": await s.lock(i.l); await s.write(i.v, (await s.read(i.v)) + 10); await s.unlock(i.l); break;
          case "try": try { await s.tryLock(i.l); await s.write(i.v, 5); await s.unlock(i.l); } catch { await s.write(i.v, 7); } break;
          case "alloc": try { await s.alloc(i.v); } catch { await s.write("c", 9); } break;
        }
      }
    };
    const vals = (e: Execution) => ["a", "b", "c"].map((x) => e.store.peek<number>(`var:${x}`) ?? 0);
    const p = props([
      { name: "no failed tryLock", check: (e) => (vals(e).includes(7) ? "a tryLock failed" : undefined) },
      { name: "not 5 with 10+", check: (e) => (vals(e).includes(5) && vals(e).some((x) => x >= 10) ? "5 and 10+" : undefined) },
      { name: "a < 2", check: (e) => (vals(e)[0]! >= 2 ? "a reached 2" : undefined) },
      { name: "b != 2 at end", atEnd: true, check: (e) => (vals(e)[1] === 2 ? "b ended 2" : undefined) },
    ], [], false);
    let shortened = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.array(instr, { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 3 }), fc.boolean(), fc.nat(1000), fc.boolean(),
      async (programs, crash, seed, usePct) => {
        const spec = () => toyScenario(
          Object.fromEntries(programs.map((prog, i) => [`p${i}`, (s: ToySys) => run(s, prog)])), {},
          programs.map((_, i) => ({ mayCrash: crash && i === 0 })),
        );
        const w = usePct ? await pctPortfolio(spec(), p, { seed, maxExecutions: 100 }) : await randomWalk(spec(), p, { seed, maxExecutions: 100, killProbability: 0.2 });
        const found = w.violations[0];
        if (!found) return;
        const r = await shortenWithStats(spec(), p, found);
        expect(r.complete).toBe(true);
        const got = await measure(spec(), p, r.violation);
        expect(got.preemptions).toBe(r.preemptions);
        const brute = await bruteForceBest(spec(), p, found.invariant);
        expect(got).toEqual({ preemptions: brute.preemptions, length: brute.length });
        if (r.originalPreemptions > r.preemptions) shortened++;
      },
    ), { numRuns: 40, seed: 20261128 });
    expect(shortened).toBeGreaterThan(3);
  }, 30_000);
});
