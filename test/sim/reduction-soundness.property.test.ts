import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";
import type { Invariant } from "../../web/src/sim/properties";
import { props, toyScenario, type ToySys } from "../support/toy";

// Random small programs over shared variables and locks. The set of final
// states and the set of violated properties found with every reduction on
// must equal those of a naive search (no reduction, no caching).

type Instr =
  | { op: "incr"; v: string }
  | { op: "write"; v: string; x: number }
  | { op: "copy"; from: string; to: string }
  | { op: "locked"; l: string; v: string }
  | { op: "try"; l: string; v: string }
  | { op: "alloc"; v: string };

const vars = fc.constantFrom("a", "b", "c");
const instrWithout = (choicePoints: boolean): fc.Arbitrary<Instr> => fc.oneof(
  fc.record({ op: fc.constant("incr" as const), v: vars }),
  fc.record({ op: fc.constant("write" as const), v: vars, x: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant("copy" as const), from: vars, to: vars }),
  fc.record({ op: fc.constant("locked" as const), l: fc.constantFrom("L", "M"), v: vars }),
  fc.record({ op: fc.constant("try" as const), l: fc.constantFrom("L", "M"), v: vars }),
  ...(choicePoints ? [fc.record({ op: fc.constant("alloc" as const), v: vars })] : []),
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

const invariants: Invariant[] = [
  { name: "a < 3 always", check: (e) => ((e.store.peek<number>("var:a") ?? 0) >= 3 ? "a reached 3" : undefined) },
  { name: "b != 2 at end", atEnd: true, check: (e) => (e.store.peek<number>("var:b") === 2 ? "b ended 2" : undefined) },
];

function sameAsNaive(reduction: { por?: boolean; sleepSets?: boolean; caching?: boolean }, choicePoints: boolean, numRuns: number) {
  return fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(instrWithout(choicePoints), { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 3 }),
        fc.boolean(),
        async (programs, crash) => {
          const spec = () => toyScenario(
            Object.fromEntries(programs.map((p, i) => [`p${i}`, (s: ToySys) => run(s, p)])),
            {},
            programs.map((_, i) => ({ mayCrash: crash && i === 0 })),
          );
          const opts = { collectEndStates: true, stopAtFirst: false } as const;
          const reduced = await exploreExhaustive(spec(), props(invariants), { ...opts, ...reduction });
          const naive = await exploreExhaustive(spec(), props(invariants), { ...opts, por: false, sleepSets: false, caching: false });
          expect(naive.complete).toBe(true);
          expect(reduced.complete).toBe(true);
          expect([...reduced.endStates].sort()).toEqual([...naive.endStates].sort());
          expect(reduced.violations.map((v) => v.invariant).sort()).toEqual(naive.violations.map((v) => v.invariant).sort());
          expect(reduced.transitions).toBeLessThanOrEqual(naive.transitions);
        },
      ),
      { numRuns, seed: 20261128 },
  );
}

describe("the reductions are sound: they find exactly the end states and violations of a naive search", () => {
  it("dynamic partial-order reduction with state caching (the default), on random small programs with choice points and crashes", async () => {
    await sameAsNaive({}, true, 120);
  }, 120_000);

  it("state caching with sleep sets (no dynamic reduction), on the same kind of programs", async () => {
    await sameAsNaive({ por: false }, true, 60);
  }, 120_000);
});
