// The reductions on the real models. reduction-soundness.property.test.ts
// holds them to a search without them on random toy scenarios; this holds
// them there on gallery lessons, whose footprints come from the Linux and
// Xen models (the xenstore watch queues as several objects, scoped
// collections, blkback's ring object, steps taken from their probes): with
// every reduction, the search must reach exactly the end states, violations
// and "sometimes" properties that a search with state caching alone reaches.
// A footprint that misses an access shows here as an end state the reduced
// search never reached.

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { galleryEntry } from "../../web/src/scenarios";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";

async function lesson(id: string, kernel?: string, patches?: string) {
  const def = (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${galleryEntry(id)!.file}`, import.meta.url).pathname)).default as ScenarioDefinition;
  return buildScenario(def, resolveConfig(kernel ?? def.kernel, (patches ?? def.patches) as never));
}

const CASES: [id: string, kernel?: string, patches?: string][] = [
  ["ring-basics"],
  ["xenstore-forgery"],
  ["opened-handoff", "linux-6.1", "v2"],
  ["dm-name-reuse", "linux-6.1", "none"],
  ["stale-diskseq", "linux-6.1", "none"],
];

describe("the reductions on the models: the same end states as state caching alone", () => {
  for (const [id, kernel, patches] of CASES) {
    it(`${id}${kernel ? ` (${kernel}, ${patches})` : ""}`, async () => {
      const b = await lesson(id, kernel, patches);
      const opts = { collectEndStates: true, stopAtFirst: false, maxSeconds: 60 };
      const reduced = await exploreExhaustive(b.spec, b.props, opts);
      const plain = await exploreExhaustive(b.spec, b.props, { ...opts, por: false, sleepSets: false });
      expect(reduced.complete && plain.complete).toBe(true);
      expect([...reduced.endStates].sort()).toEqual([...plain.endStates].sort());
      expect(reduced.violations.map((v) => v.invariant).sort()).toEqual(plain.violations.map((v) => v.invariant).sort());
      expect([...reduced.sometimesSeen].sort()).toEqual([...plain.sometimesSeen].sort());
      // The reductions did something (a test that could not tell them apart would prove nothing).
      expect(reduced.states).toBeLessThan(plain.states);
    }, 120_000);
  }
});

describe("the explorer's own checks (ExhaustiveOptions.debug) on the models: they hold, and change nothing", () => {
  for (const [id, kernel, patches] of [CASES[0]!, CASES[1]!, CASES[3]!]) {
    it(`${id}${kernel ? ` (${kernel}, ${patches})` : ""}`, async () => {
      const b = await lesson(id, kernel, patches);
      const opts = { collectEndStates: true, stopAtFirst: false, maxSeconds: 60 };
      const plain = await exploreExhaustive(b.spec, b.props, opts);
      const checked = await exploreExhaustive(b.spec, b.props, { ...opts, debug: true });
      expect(plain.complete).toBe(true);
      const counts = (r: typeof plain) => [r.states, r.transitions, r.executions, r.violations.map((v) => v.invariant)];
      expect(counts(checked)).toEqual(counts(plain));
      expect([...checked.endStates].sort()).toEqual([...plain.endStates].sort());
    }, 120_000);
  }
});
