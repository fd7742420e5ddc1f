// Live progress: the counters a caller passes are kept up to date by the
// search whenever it reads its clock, and match the final result.

import { describe, expect, it } from "vitest";
import { liveCounts } from "../../web/src/sim/live";
import { verify } from "../../web/src/sim/verify";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import lostUpdate from "../../web/src/scenarios/lost-update";

describe("live counts", () => {
  it("exhaustive search: states seen by the clock reader grow and never pass the final count", async () => {
    const b = buildScenario(lostUpdate, resolveConfig(undefined, undefined));
    const live = liveCounts();
    const seen: number[] = [];
    const r = await verify(b.spec, b.props, { mode: "explore", por: false, stopAtFirst: false, live, now: () => { seen.push(live.states); return 0; } } as never);
    expect(r.states).toBeGreaterThan(0);
    expect(seen.every((v, i) => i === 0 || v >= seen[i - 1]!)).toBe(true);
    expect(Math.max(...seen)).toBeLessThanOrEqual(r.states!);
  });

  it("random walks: executions counted before each new execution", async () => {
    const b = buildScenario({
      actors: {
        a: async (sys) => { await sys.writeFile("/run/a", "1"); await sys.writeFile("/run/a", "2"); },
        b: async (sys) => { await sys.writeFile("/run/b", "1"); },
      },
    }, resolveConfig(undefined, undefined));
    const live = liveCounts();
    const r = await verify(b.spec, b.props, { mode: "random", seed: 7, maxExecutions: 50, live });
    expect(r.executions).toBe(50);
    expect(live.executions).toBeGreaterThan(0);
    expect(live.executions).toBeLessThanOrEqual(r.executions);
    expect(live.transitions).toBeGreaterThan(0);
  });
});
