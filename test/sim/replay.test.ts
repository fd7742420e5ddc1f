import { describe, expect, it } from "vitest";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";
import { randomWalk, type SampledExecution } from "../../web/src/sim/random-walk";
import { expectedCalls, replaySchedule } from "../../web/src/sim/replay";
import { decodeSchedule, encodeSchedule } from "../../web/src/sim/schedule";
import { racingPair, segments } from "../../web/src/sim/segments";
import { props, toyScenario, varIs, type ToySys } from "../support/toy";

const incr = async (s: ToySys) => { const v = await s.read("n"); await s.write("n", v + 1); };
const lostUpdate = () => toyScenario({ a: incr, b: incr });

describe("replaying a schedule", () => {
  it("replay of a violation's path reproduces the same violation and the same steps", async () => {
    const found = await exploreExhaustive(lostUpdate(), props([varIs("n", 2)]));
    const v = found.violations[0]!;
    const r = await replaySchedule(lostUpdate(), props([varIs("n", 2)]), decodeSchedule(encodeSchedule(v.path)));
    expect(r.divergence).toBeUndefined();
    expect(r.violation).toEqual(v);
    expect(r.finished).toBe(true);

    // With choice points and deaths: a random walk's run, replayed, gives the same trace record for record.
    const spec = () => toyScenario({
      a: async (s) => { try { await s.alloc("p"); } catch { await s.write("failed", 1); } await s.lock("L"); await incr(s); await s.unlock("L"); },
      b: async (s) => { await s.lock("L"); await incr(s); await s.unlock("L"); await s.alloc("q"); },
      c: incr,
    }, {}, [{ mayCrash: true }, { mayCrash: true }]);
    const runs: SampledExecution[] = [];
    const w = await randomWalk(spec(), props([varIs("n", 3)]), { seed: 7, maxExecutions: 300, killProbability: 0.2, onExecution: (x) => runs.push(x) });
    expect(w.violations).toHaveLength(1);
    const bad = runs[runs.length - 1]!;
    expect(bad.path.some((t) => t.kill) || bad.path.some((t) => t.choices)).toBe(true);
    const again = await replaySchedule(spec(), props([varIs("n", 3)]), decodeSchedule(encodeSchedule(w.violations[0]!.path)));
    expect(again.violation).toEqual(w.violations[0]);
    expect(again.exec.steps).toEqual(bad.steps);
    expect(again.taken).toEqual(bad.path);
    expect(again.enabled).toEqual(bad.enabled);
  });

  it("a prefix of a schedule still gives a full run, continued with the lowest-index enabled actor", async () => {
    const r = await replaySchedule(lostUpdate(), props([varIs("n", 2)]), [{ actor: 1 }]);
    expect(r.continuedAt).toBe(1);
    expect(r.taken.map((t) => t.actor)).toEqual([1, 0, 0, 1]);
    expect(r.violation?.message).toBe("n is 1, expected 2");
    const empty = await replaySchedule(lostUpdate(), props([varIs("n", 2)]), []);
    expect(empty.taken.map((t) => t.actor)).toEqual([0, 0, 1, 1]);
    expect(empty.violation).toBeUndefined();
    expect(empty.finished).toBe(true);
  });

  it("an edited script makes replay stop at the first mismatch, with a message naming the step, the actor and expected vs found", async () => {
    const p = props([varIs("n", 2)]);
    const found = (await exploreExhaustive(lostUpdate(), p)).violations[0]!;
    const path = found.path.map((t) => t.actor);
    const original = await replaySchedule(lostUpdate(), p, found.path);

    // a now makes one call instead of two: the schedule's second step of a has nothing to run.
    const shorter = toyScenario({ a: async (s) => { await s.write("n", 1); }, b: incr });
    const r1 = await replaySchedule(shorter, p, found.path);
    const second = path.indexOf(0, path.indexOf(0) + 1);
    expect(r1.divergence).toEqual({ step: second, message: `step ${second + 1} of the schedule: the schedule runs a, but a has finished` });
    expect(r1.exec.steps).toHaveLength(second);
    expect(r1.violation).toBeUndefined();

    // a now calls something else first: the schedule alone still fits, the original trace's calls do not.
    const edited = toyScenario({ a: async (s) => { await s.write("m", 5); await s.write("n", 1); }, b: incr });
    const first = path.indexOf(0);
    const r2 = await replaySchedule(edited, p, found.path, { expect: expectedCalls(original.exec.steps) });
    expect(r2.divergence).toEqual({
      step: first,
      message: `step ${first + 1} of the schedule: the schedule expected a to call read("n"), but the script now calls write("m", 5)`,
    });
    expect(r2.exec.steps).toHaveLength(first);

    // A choice value the step no longer offers.
    const r3 = await replaySchedule(lostUpdate(), p, [{ actor: 0 }, { actor: 1, choices: [1] }]);
    expect(r3.divergence?.step).toBe(1);
    expect(r3.divergence?.message).toBe(`step 2 of the schedule: the schedule gives b's read("n") choice values 1, but the step offers only 0`);

    // A death of an actor that may not crash, and an actor that does not exist.
    const r4 = await replaySchedule(lostUpdate(), p, [{ actor: 0, kill: true }]);
    expect(r4.divergence?.message).toBe("step 1 of the schedule: the schedule kills a, but a may not crash (mayCrash is off)");
    const r5 = await replaySchedule(lostUpdate(), p, [{ actor: 0 }, { actor: 5 }]);
    expect(r5.divergence?.message).toBe("step 2 of the schedule: the schedule runs actor #5, but the scenario has no actor #5 (it has 2)");

    // A blocked actor.
    const locked = toyScenario({
      a: async (s) => { await s.lock("L"); await s.unlock("L"); },
      b: async (s) => { await s.lock("L"); await s.unlock("L"); },
    });
    const r6 = await replaySchedule(locked, props(), [{ actor: 0 }, { actor: 1 }]);
    expect(r6.divergence?.message).toBe(`step 2 of the schedule: the schedule runs b, but b is blocked in lock("L") until L is free`);
  });
});

describe("reading aids for a trace", () => {
  it("segments and racingPair on a known lost-update path", async () => {
    const r = await replaySchedule(lostUpdate(), props([varIs("n", 2)]), [{ actor: 0 }, { actor: 1 }, { actor: 1 }, { actor: 0 }]);
    expect(r.violation?.message).toBe("n is 1, expected 2");
    expect(segments(r.taken, r.exec.steps, ["a", "b"])).toEqual([
      { actor: "a", from: 0, to: 0, calls: [`read("n")`] },
      { actor: "b", from: 1, to: 2, calls: [`read("n")`, `write("n", 1)`] },
      { actor: "a", from: 3, to: 3, calls: [`write("n", 1)`] },
    ]);
    // b's write and a's write of n: the last two steps of different actors touching the same object.
    expect(racingPair(r.exec.steps)).toEqual([2, 3]);
    // Only a's read before b's steps: the reads do not conflict, and a's read and b's write do.
    const partial = await replaySchedule(lostUpdate(), props(), [{ actor: 0 }, { actor: 1 }, { actor: 1 }], { maxSteps: 3 });
    expect(racingPair(partial.exec.steps)).toEqual([0, 2]);
    const disjoint = await replaySchedule(toyScenario({ a: async (s) => { await s.write("x", 1); }, b: async (s) => { await s.write("y", 1); } }), props(), []);
    expect(racingPair(disjoint.exec.steps)).toBeUndefined();
    // Errors and deaths are shown as such.
    const crash = toyScenario({ a: async (s) => { await s.tryLock("L"); }, b: async (s) => { try { await s.tryLock("L"); } catch { await s.write("x", 1); } } }, {}, [{}, { mayCrash: true }]);
    const rc = await replaySchedule(crash, props(), [{ actor: 0 }, { actor: 1 }, { actor: 1, kill: true }]);
    expect(segments(rc.taken, rc.exec.steps, ["a", "b"])).toEqual([
      { actor: "a", from: 0, to: 0, calls: [`tryLock("L")`] },
      { actor: "b", from: 1, to: 2, calls: [`tryLock("L") -> EBUSY`, "<killed> in write"] },
    ]);
  });
});
