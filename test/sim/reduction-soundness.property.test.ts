import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Execution } from "../../web/src/sim/execution";
import { exploreExhaustive, type ExhaustiveOptions } from "../../web/src/sim/exhaustive";
import type { Invariant } from "../../web/src/sim/properties";
import { props, toyScenario, type ToySys } from "../support/toy";

// The reductions (dynamic partial-order reduction with source sets, sleep
// sets, state caching) must find exactly what a search without them finds:
// the same end states (state keys: the world and every actor's observations),
// the same violated invariants and the same "sometimes" properties met.
//
// The reference explores every transition from every state, with state
// caching alone: a state key fixes everything below the state, so caching
// drops nothing (up to 64-bit collisions); without it, crashing actors make
// the reference too slow for a property test.
//
// Every search here runs with `debug`: the explorer also checks its own
// bookkeeping (clocks, skipped race detections, the visited table, backtrack
// sets) and throws an InternalError where it is wrong, which fails the
// property before an answer is even compared.

type Instr =
  | { op: "incr"; v: string }
  | { op: "write"; v: string; x: number }
  | { op: "copy"; from: string; to: string }
  | { op: "locked"; l: string; v: string }
  | { op: "try"; l: string; v: string }
  | { op: "alloc"; v: string };

const vars = fc.constantFrom("a", "b", "c");
const instr: fc.Arbitrary<Instr> = fc.oneof(
  fc.record({ op: fc.constant("incr" as const), v: vars }),
  fc.record({ op: fc.constant("write" as const), v: vars, x: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant("copy" as const), from: vars, to: vars }),
  fc.record({ op: fc.constant("locked" as const), l: fc.constantFrom("L", "M"), v: vars }),
  fc.record({ op: fc.constant("try" as const), l: fc.constantFrom("L", "M"), v: vars }),
  fc.record({ op: fc.constant("alloc" as const), v: vars }), // a choice point: the allocation may fail
);

async function run(s: ToySys, prog: Instr[]): Promise<void> {
  for (const i of prog) {
    switch (i.op) {
      case "incr": await s.write(i.v, (await s.read(i.v)) + 1); break;
      case "write": await s.write(i.v, i.x); break;
      case "copy": await s.write(i.to, await s.read(i.from)); break;
      case "locked": await s.lock(i.l); await s.write(i.v, (await s.read(i.v)) + 10); await s.unlock(i.l); break;
      case "try":
        try { await s.tryLock(i.l); await s.write(i.v, 5); await s.unlock(i.l); } catch { await s.write(i.v, 7); }
        break;
      case "alloc": try { await s.alloc(i.v); } catch { await s.write("c", 9); } break;
    }
  }
}

const val = (e: Execution, v: string) => e.store.peek<number>(`var:${v}`) ?? 0;
const invariants: Invariant[] = [
  { name: "a < 3 always", check: (e) => (val(e, "a") >= 3 ? "a reached 3" : undefined) },
  // Over two objects: a state only some interleavings of independent steps pass through.
  { name: "never a = 1 while b = 0", check: (e) => (val(e, "a") === 1 && val(e, "b") === 0 ? "a is 1, b is 0" : undefined) },
  { name: "b != 2 at end", atEnd: true, check: (e) => (val(e, "b") === 2 ? "b ended 2" : undefined) },
];
const sometimes: Invariant[] = [
  { name: "c = 2 and b = 0 at some point", check: (e) => (val(e, "c") === 2 && val(e, "b") === 0 ? undefined : "no") },
];

const programs = (actors: number, length: number) => fc.record({
  programs: fc.array(fc.array(instr, { minLength: 1, maxLength: length }), { minLength: 2, maxLength: actors }),
  crashing: fc.integer({ min: 0, max: 15 }), // bit i: actor i may be killed at any step
  invariants: fc.subarray(invariants, { minLength: 1 }),
});

async function compare(c: { programs: Instr[][]; crashing: number; invariants: Invariant[] }, reduction: ExhaustiveOptions) {
  const spec = () => toyScenario(
    Object.fromEntries(c.programs.map((p, i) => [`p${i}`, (s: ToySys) => run(s, p)])),
    {},
    c.programs.map((_, i) => ({ mayCrash: ((c.crashing >> i) & 1) === 1 })),
  );
  const p = props(c.invariants, sometimes);
  const opts = { collectEndStates: true, stopAtFirst: false, debug: true } as const;
  const reference = await exploreExhaustive(spec(), p, { ...opts, por: false, sleepSets: false, caching: true, maxStates: 30_000 });
  fc.pre(reference.complete);
  const reduced = await exploreExhaustive(spec(), p, { ...opts, maxStates: 200_000, ...reduction });
  // Without caching, a search can outgrow its bound where the reference does not: not a finding.
  if (reduction.caching === false) fc.pre(reduced.complete);
  expect(reduced.complete).toBe(true);
  expect([...reduced.endStates].sort()).toEqual([...reference.endStates].sort());
  expect(reduced.violations.map((v) => v.invariant).sort()).toEqual(reference.violations.map((v) => v.invariant).sort());
  expect([...reduced.sometimesSeen].sort()).toEqual([...reference.sometimesSeen].sort());
  if (reduction.caching !== false) expect(reduced.transitions).toBeLessThanOrEqual(reference.transitions);
  return reduced;
}

const property = (reduction: ExhaustiveOptions, numRuns: number, seed: number, actors = 3, length = 2) =>
  fc.assert(fc.asyncProperty(programs(actors, length), (c) => compare(c, reduction).then(() => undefined)), { numRuns, seed });

describe("the reductions are sound: they find exactly the end states, violations and 'sometimes' properties of a search without them", () => {
  it("all of them (the default: DPOR with source sets, sleep sets, caching), on random programs with choice points and crashing actors", async () => {
    await property({}, 150, 20261128);
    await property({}, 40, 20261129, 4, 2);
    await property({}, 40, 20261130, 3, 3);
  }, 240_000);

  it("DPOR with sleep sets, without caching", async () => {
    await property({ caching: false }, 100, 20261131);
  }, 240_000);

  it("DPOR with caching, without sleep sets; sleep sets with caching, without DPOR", async () => {
    await property({ sleepSets: false }, 60, 20261132);
    await property({ por: false }, 60, 20261133);
  }, 240_000);
});

describe("loop heads are sound: a daemon at its loop head counted once, whatever rounds it ran", () => {
  // Programs that also post tokens; a daemon takes one per round (its loop
  // head: nothing carried over) and adds it to c. The reference counts every
  // round (loopHeads: false) with caching alone; the search under test has
  // every reduction and loop heads. End states compare by the key that
  // honours loop heads (the reference records that one too).
  const withPost: fc.Arbitrary<Instr | { op: "post" }> = fc.oneof(instr, fc.constant({ op: "post" as const }));
  const daemonSpec = (progs: (Instr | { op: "post" })[][], crashing: number) => {
    const spec = toyScenario(
      Object.fromEntries(progs.map((p, i) => [`p${i}`, async (s: ToySys) => {
        for (const x of p) {
          if (x.op === "post") await s.write("t", (await s.read("t")) + 1);
          else await run(s, [x]);
        }
      }])),
      {},
      progs.map((_, i) => ({ mayCrash: ((crashing >> i) & 1) === 1 })),
    );
    spec.actors.push({
      name: "daemon", domain: "dom0", daemon: true,
      body: async (ch) => {
        for (;;) {
          await ch.call({
            call: "take", args: [], loopHead: true, waitingFor: "a token",
            ready: (st) => (st.get<number>("var:t") ?? 0) > 0,
            run: (c) => {
              c.store.set("var:t", c.store.get<number>("var:t")! - 1);
              c.store.set("var:c", (c.store.get<number>("var:c") ?? 0) + 1);
            },
          });
        }
      },
    });
    return spec;
  };
  it("on random programs with a token-taking daemon, choice points and crashing actors", async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({
        programs: fc.array(fc.array(withPost, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }),
        crashing: fc.integer({ min: 0, max: 7 }),
        invariants: fc.subarray(invariants, { minLength: 1 }),
      }),
      async (c) => {
        const p = props(c.invariants, sometimes);
        const opts = { collectEndStates: true, stopAtFirst: false, debug: true } as const;
        const reference = await exploreExhaustive(daemonSpec(c.programs, c.crashing), p, { ...opts, por: false, sleepSets: false, loopHeads: false, maxStates: 30_000 });
        fc.pre(reference.complete);
        const reduced = await exploreExhaustive(daemonSpec(c.programs, c.crashing), p, { ...opts, maxStates: 200_000 });
        expect(reduced.complete).toBe(true);
        expect([...reduced.endStates].sort()).toEqual([...reference.endStates].sort());
        expect(reduced.violations.map((v) => v.invariant).sort()).toEqual(reference.violations.map((v) => v.invariant).sort());
        expect([...reduced.sometimesSeen].sort()).toEqual([...reference.sometimesSeen].sort());
      },
    ), { numRuns: 80, seed: 20261201 });
  }, 240_000);
});

describe("the counterexamples behind the fixes, found by the property above and kept as regressions", () => {
  const endStates = async (spec: () => ReturnType<typeof toyScenario>, inv: Invariant[], reduction: ExhaustiveOptions) =>
    exploreExhaustive(spec(), props(inv), { collectEndStates: true, stopAtFirst: false, debug: true, ...reduction });

  it("a race reversed by an actor asleep at that state: the reversal must start with an initial of the reversed sequence", async () => {
    // The end state that needs p2: read b, write b, then p0 (which reads 1) and
    // last p1 (which reads c = 5): every execution of it starts p2 p2 p0.
    // From the root p0 runs first; then p2's read, independent of p0's read,
    // puts p0 to sleep. The race of p0's write of c with p1's read of c was
    // reversed, Flanagan-Godefroid style, by adding p0 (the racing actor) to
    // the state after p2's read, where p0 sleeps: nothing was explored. Its
    // initial there is p2 (p0's read must follow p2's write).
    const spec = () => toyScenario({
      p0: async (s) => { await s.write("b", (await s.read("b")) + 1); await s.write("c", 5); },
      p1: async (s) => { await s.write("b", await s.read("c")); },
      p2: async (s) => { await s.write("b", (await s.read("b")) + 1); },
    });
    const naive = await endStates(spec, [], { por: false, sleepSets: false, caching: false });
    for (const caching of [false, true]) {
      const reduced = await endStates(spec, [], { caching });
      expect([...reduced.endStates].sort()).toEqual([...naive.endStates].sort());
      expect(reduced.transitions).toBeLessThan(naive.transitions);
    }
  });

  it("a state where an invariant fails is a dead end: the step into it depends on every other actor's step", async () => {
    // p1 writes b = 10 under its lock; p0 reading 10 makes a = 10 (violation,
    // not explored further). p1's later write of b = 1 races with p0's read,
    // but p1 never ran past the violation, so that race was never seen and
    // the end state where p0 reads 1 was lost.
    const spec = () => toyScenario({
      p0: async (s) => { await s.write("a", await s.read("b")); await s.write("a", 0); },
      p1: async (s) => { await s.lock("L"); await s.write("b", (await s.read("b")) + 10); await s.unlock("L"); await s.write("b", 1); },
    });
    const inv = [invariants[0]!];
    const naive = await endStates(spec, inv, { por: false, sleepSets: false, caching: false });
    const reduced = await endStates(spec, inv, {});
    expect(naive.endStates.size).toBe(2);
    expect([...reduced.endStates].sort()).toEqual([...naive.endStates].sort());
  });

  it("an invariant over two objects sees the order of independent writes: steps it can see are ordered", async () => {
    const spec = () => toyScenario({ p0: async (s) => { await s.write("b", 1); }, p1: async (s) => { await s.write("a", 1); } });
    const inv = [invariants[1]!];
    const naive = await endStates(spec, inv, { por: false, sleepSets: false, caching: false });
    const reduced = await endStates(spec, inv, {});
    expect(naive.violations.map((v) => v.invariant)).toEqual(["never a = 1 while b = 0"]);
    expect(reduced.violations.map((v) => v.invariant)).toEqual(["never a = 1 while b = 0"]);
    // Without an invariant looking, the two writes commute: one execution.
    expect((await endStates(spec, [], {})).executions).toBe(1);
  });

  it("sleep sets alone need the same ordering once a failing check ends a path", async () => {
    // p1 sleeps after p0 wrote b: its copy of a into b was explored before
    // that write, where p2's a = 1 with b = 0 ended the path. The end state
    // in which p1 copies 1 into b after p0's write was lost.
    const spec = () => toyScenario({
      p0: async (s) => { await s.write("b", 1); await s.write("a", (await s.read("a")) + 1); },
      p1: async (s) => { await s.write("b", await s.read("a")); await s.write("a", (await s.read("a")) + 1); },
      p2: async (s) => { try { await s.alloc("a"); } catch { await s.write("c", 9); } },
    });
    const inv = [invariants[1]!];
    const reference = await endStates(spec, inv, { por: false, sleepSets: false, caching: true });
    const reduced = await endStates(spec, inv, { por: false });
    expect(reduced.violations.map((v) => v.invariant)).toEqual(["never a = 1 while b = 0"]);
    expect([...reduced.endStates].sort()).toEqual([...reference.endStates].sort());
  });
});
