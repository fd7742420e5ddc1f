import fc from "fast-check";
import { expect, it } from "vitest";
import { Execution, type ExecutionSpec, type Transition } from "../../web/src/sim/execution";
import { enabledTransitions } from "../../web/src/sim/exhaustive";
import { checkAfterStep, checkAtEnd, type Invariant, type Properties } from "../../web/src/sim/properties";
import { randomWalk } from "../../web/src/sim/random-walk";
import { pctPortfolio } from "../../web/src/sim/pct";
import { replaySchedule } from "../../web/src/sim/replay";
import { preemptions, shortenWithStats } from "../../web/src/sim/shorten";
import { props, toyScenario, type ToySys } from "../support/toy";

type Instr = { op: "incr"; v: string } | { op: "write"; v: string; x: number } | { op: "copy"; from: string; to: string } | { op: "locked"; l: string; v: string } | { op: "try"; l: string; v: string } | { op: "alloc"; v: string };
const vars = fc.constantFrom("a", "b", "c");
const instr: fc.Arbitrary<Instr> = fc.oneof(
  fc.record({ op: fc.constant("incr" as const), v: vars }),
  fc.record({ op: fc.constant("write" as const), v: vars, x: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant("copy" as const), from: vars, to: vars }),
  fc.record({ op: fc.constant("locked" as const), l: fc.constantFrom("L", "M"), v: vars }),
  fc.record({ op: fc.constant("try" as const), l: fc.constantFrom("L", "M"), v: vars }),
  fc.record({ op: fc.constant("alloc" as const), v: vars }),
);
async function run(s: ToySys, prog: Instr[]): Promise<void> {
  for (const i of prog) {
    switch (i.op) {
      case "incr": await s.write(i.v, (await s.read(i.v)) + 1); break;
      case "write": await s.write(i.v, i.x); break;
      case "copy": await s.write(i.to, await s.read(i.from)); break;
      case "locked": await s.lock(i.l); await s.write(i.v, (await s.read(i.v)) + 10); await s.unlock(i.l); break;
      case "try": try { await s.tryLock(i.l); await s.write(i.v, 5); await s.unlock(i.l); } catch { await s.write(i.v, 7); } break;
      case "alloc": try { await s.alloc(i.v); } catch { await s.write("c", 9); } break;
    }
  }
}
const invariants: Invariant[] = [
  { name: "a < 2 always", check: (e) => ((e.store.peek<number>("var:a") ?? 0) >= 2 ? "a reached 2" : undefined) },
  { name: "b != 2 at end", atEnd: true, check: (e) => (e.store.peek<number>("var:b") === 2 ? "b ended 2" : undefined) },
];
async function brute(spec: ExecutionSpec, p: Properties, invariant: string) {
  const exec = new Execution(spec); await exec.start();
  const path: Transition[] = []; const enabled: number[][] = [];
  let best = { preemptions: Infinity, length: Infinity };
  const note = () => { const pr = preemptions(path, enabled); if (pr < best.preemptions || (pr === best.preemptions && path.length < best.length)) best = { preemptions: pr, length: path.length }; };
  const visit = async (): Promise<void> => {
    const en = enabledTransitions(exec);
    if (en.length === 0) { if (checkAtEnd(exec, p, new Set())?.invariant === invariant) note(); return; }
    const cp = exec.checkpoint(); const actors = exec.enabled();
    for (const t of en) {
      await exec.step(t); path.push(t); enabled.push(actors);
      const v = checkAfterStep(exec, p, new Set());
      if (v) { if (v.invariant === invariant) note(); } else await visit();
      path.pop(); enabled.pop(); await exec.restore(cp);
    }
    exec.release(cp);
  };
  await visit();
  return best;
}
it("shorten = brute force on random programs", async () => {
  let checked = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.array(instr, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }), fc.boolean(), fc.integer({min:0,max:1000}), fc.boolean(),
    async (programs, crash, seed, usePct) => {
      const spec = () => toyScenario(Object.fromEntries(programs.map((p, i) => [`p${i}`, (s: ToySys) => run(s, p)])), {}, programs.map((_, i) => ({ mayCrash: crash && i === 0 })));
      const p = props(invariants, [], false);
      const w = usePct ? await pctPortfolio(spec(), p, { seed, maxExecutions: 200 }) : await randomWalk(spec(), p, { seed, maxExecutions: 200, killProbability: 0.2 });
      if (w.violations.length === 0) return;
      const found = w.violations[0]!;
      const r = await shortenWithStats(spec(), p, found);
      expect(r.complete).toBe(true);
      const rep = await replaySchedule(spec(), p, r.violation.path);
      expect(rep.violation?.invariant).toBe(found.invariant);
      expect(rep.continuedAt).toBeUndefined();
      const got = { preemptions: preemptions(rep.taken, rep.enabled), length: rep.taken.length };
      expect(got.preemptions).toBe(r.preemptions);
      const b = await brute(spec(), p, found.invariant);
      expect(got).toEqual(b);
      checked++;
    }), { numRuns: 150, seed: 42 });
  console.log("checked", checked);
}, 300_000);
