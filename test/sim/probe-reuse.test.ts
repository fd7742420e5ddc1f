// Probes and the steps taken from them (Execution.probe, stepNow with a
// probe). An exploration runs a model's code in probes and takes most steps
// by applying what the probe recorded; here each such step is checked
// against running the same step for real, in the same state, along seeded
// random walks through Xen lessons (where most state lives: xenstore,
// blkback, loop, udev), and a probe found again after going back is the same
// probe only if what it read is unchanged.

import { describe, expect, it } from "vitest";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { galleryEntry } from "../../web/src/scenarios";
import { Execution, type StepRecord } from "../../web/src/sim/execution";
import { Rng } from "../../web/src/sim/rng";

async function lesson(id: string, kernel: string, patches: string) {
  const def = (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${galleryEntry(id)!.file}`, import.meta.url).pathname)).default as ScenarioDefinition;
  return buildScenario(def, resolveConfig(kernel, patches as never));
}

const shape = (r: StepRecord) => ({
  actor: r.actor, call: r.call, args: r.args, outcome: r.outcome.ok ? { ok: true, value: r.outcome.value } : { ok: false, errno: r.outcome.error.errno },
  reads: [...r.footprint.reads].sort(), writes: [...r.footprint.writes].sort(), choicePoints: r.choicePoints, events: r.events,
});

describe("steps taken from their probes", () => {
  for (const [id, kernel, patches] of [["loop-reuse-race", "linux-6.1", "v2"], ["vm-shutdown-leak", "linux-6.1", "v2"], ["hostile-frontend", "linux-6.1", "v2"]] as const) {
    it(`${id}: applying a probe's record gives the step, the world and the actors that running it gives`, async () => {
      const b = await lesson(id, kernel, patches);
      const exec = new Execution(b.spec);
      await exec.start();
      let replayed = 0;
      let compared = 0;
      for (let walk = 0; walk < 12; walk++) {
        const rng = new Rng(0x5eed + walk);
        const start = exec.checkpoint();
        for (let n = 0; n < 300; n++) {
          const en = exec.enabled();
          if (en.length === 0) break;
          const actor = en[rng.below(en.length)]!;
          const probe = exec.probe(actor);
          const alt = rng.below(probe.alternatives.length);
          const t = probe.alternatives[alt]!;
          const cp = exec.checkpoint();
          const fromProbe = await exec.stepNow(t, undefined, { probe, alt });
          const keyFromProbe = exec.stateKeyHex();
          const storeFromProbe = exec.store.fingerprintHex();
          const positions = exec.actors.map((a) => a.position);
          exec.restoreNow(cp);
          const run = await exec.stepNow(t);
          expect(shape(fromProbe)).toEqual(shape(run));
          expect(exec.store.fingerprintHex()).toBe(storeFromProbe);
          expect(exec.stateKeyHex()).toBe(keyFromProbe);
          expect(exec.actors.map((a) => a.position)).toEqual(positions);
          exec.release(cp);
          compared++;
          if (probe.redo?.[alt] !== undefined) replayed++;
        }
        exec.restoreNow(start);
        exec.release(start);
      }
      // Most steps change nothing outside the store and are taken from their probes.
      expect(compared).toBeGreaterThan(200);
      expect(replayed / compared).toBeGreaterThan(0.5);
    });
  }

  it("a probe kept from before going back is reused only while what it read is the same", async () => {
    const b = await lesson("loop-reuse-race", "linux-6.1", "none");
    const exec = new Execution(b.spec);
    await exec.start();
    const cleanup = exec.actors.findIndex((a) => a.who.name === "cleanup");
    const toolstack = exec.actors.findIndex((a) => a.who.name === "toolstack");
    const first = exec.probe(cleanup);
    expect(exec.probe(cleanup)).toBe(first);
    const cp = exec.checkpoint();
    // Steps that change what the cleanup's next step reads (loop0's disk, once the script opens it) make a new probe...
    for (let n = 0; n < 40 && exec.probe(cleanup) === first; n++) {
      const en = exec.enabled().filter((i) => i !== cleanup);
      if (en.length === 0) break;
      await exec.stepNow({ actor: en.includes(toolstack) ? toolstack : en[0]! });
    }
    const changed = exec.probe(cleanup);
    expect(changed).not.toBe(first);
    // ...and going back finds the first one again, without probing.
    exec.restoreNow(cp);
    expect(exec.probe(cleanup)).toBe(first);
    exec.release(cp);
  });

  it("a script gets its own copy of a result: changing it changes neither the step's record nor a later delivery", async () => {
    const exec = new Execution({
      setup: () => {},
      actors: [{
        name: "sorter", domain: "dom0",
        body: async (ch) => {
          const xs = await ch.call<number[]>({ call: "list", args: [], run: () => [3, 1, 2] });
          xs.sort();
          await ch.call({ call: "write", args: [xs.join(",")], run: (c) => { c.store.set("var:out", xs.join(",")); } });
        },
      }],
    });
    await exec.start();
    const cp = exec.checkpoint();
    const probe = exec.probe(0);
    const rec = await exec.stepNow({ actor: 0 }, undefined, { probe, alt: 0 });
    expect(exec.actors[0]!.pending?.args).toEqual(["1,2,3"]);
    expect(rec.outcome).toEqual({ ok: true, value: [3, 1, 2] });
    // Back, and the same step from the same probe: the script sorts a fresh [3, 1, 2] again.
    exec.restoreNow(cp);
    await exec.stepNow({ actor: 0 }, undefined, { probe, alt: 0 });
    expect(exec.actors[0]!.pending?.args).toEqual(["1,2,3"]);
    expect(probe.redo?.[0]?.outcome).toEqual({ ok: true, value: [3, 1, 2] });
  });
});
