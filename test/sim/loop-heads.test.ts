// Op.loopHead: a daemon waiting at the head of its loop is one state,
// whatever rounds it ran before (xenwatch after one event or after two
// that xenstored did not coalesce). The state key forgets those rounds
// there and only there; a search that honours loop heads reaches the same
// end states, violations and "sometimes" properties as one that does not,
// in fewer states.

import { describe, expect, it } from "vitest";
import type { Channel } from "../../web/src/sim/actor";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import type { ScenarioDefinition } from "../../web/src/api/types";
import { galleryEntry } from "../../web/src/scenarios";
import { Execution, type ActorSpec, type ExecutionSpec } from "../../web/src/sim/execution";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";
import { props } from "../support/toy";

/**
 * Two producers raise a flag; a daemon lowers it whenever it is up (one
 * round or two, the world is the same after); then a third actor, waiting
 * for both and the flag down, writes.
 */
function flagScenario(loopHead: boolean): ExecutionSpec {
  const raise = (name: string): ActorSpec => ({
    name, domain: "dom0",
    body: async (ch: Channel) => {
      await ch.call({ call: "raise", args: [], run: (c) => { c.store.set("var:flag", 1); c.store.set(`var:${name}`, 1); } });
    },
  });
  const daemon: ActorSpec = {
    name: "daemon", domain: "dom0", daemon: true,
    body: async (ch: Channel) => {
      for (;;) {
        await ch.call({
          call: "lower", args: [], loopHead, waitingFor: "the flag",
          ready: (s) => s.get("var:flag") === 1,
          run: (c) => { c.store.delete("var:flag"); c.store.set("var:lowered", 1); },
        });
      }
    },
  };
  const after: ActorSpec = {
    name: "c", domain: "dom0",
    body: async (ch: Channel) => {
      await ch.call({
        call: "write", args: [], waitingFor: "a and b, the flag down",
        ready: (s) => s.get("var:a") === 1 && s.get("var:b") === 1 && !s.has("var:flag"),
        run: (c) => { c.store.set("var:c", 1); },
      });
    },
  };
  return { setup: () => {}, actors: [raise("a"), raise("b"), daemon, after] };
}

async function run(spec: ExecutionSpec, actors: number[]): Promise<Execution> {
  const exec = new Execution(spec);
  await exec.start();
  for (const i of actors) await exec.step(exec.probe(i).alternatives[0]!);
  return exec;
}

describe("loop heads", () => {
  it("the state key forgets a daemon's rounds while it waits at its loop head, and only there", async () => {
    const twice = await run(flagScenario(true), [0, 2, 1, 2]); // a, lower, b, lower
    const once = await run(flagScenario(true), [0, 1, 2]); // a, b, lower
    expect(twice.actors[2]!.position).toBe(2);
    expect(once.actors[2]!.position).toBe(1);
    expect(twice.store.fingerprint()).toEqual(once.store.fingerprint());
    expect(twice.stateKeyHex()).toBe(once.stateKeyHex());
    // Counting whole histories, or without the promise, they are two states.
    expect(twice.stateKey(false)).not.toEqual(once.stateKey(false));
    const twicePlain = await run(flagScenario(false), [0, 2, 1, 2]);
    const oncePlain = await run(flagScenario(false), [0, 1, 2]);
    expect(twicePlain.stateKeyHex()).not.toBe(oncePlain.stateKeyHex());
    // The world differs (b has not raised yet): the keys differ, loop head or not.
    const early = await run(flagScenario(true), [0, 2]);
    expect(early.stateKeyHex()).not.toBe(once.stateKeyHex());
  });

  it("a search honouring loop heads reaches the same end states in fewer states (toy)", async () => {
    const spec = flagScenario(true);
    const opts = { collectEndStates: true, stopAtFirst: false, por: false, sleepSets: false };
    const honoured = await exploreExhaustive(spec, props(), opts);
    const ignored = await exploreExhaustive(spec, props(), { ...opts, loopHeads: false });
    expect(honoured.complete && ignored.complete).toBe(true);
    expect([...honoured.endStates].sort()).toEqual([...ignored.endStates].sort());
    expect(honoured.endStates.size).toBe(1);
    // After the daemon's second round the state is the one after its first: neither it nor c's step from it is new.
    expect(ignored.states - honoured.states).toBe(2);
  });

  for (const [id, patches] of [["opened-handoff", "v2"], ["vm-shutdown-leak", "none"]] as const) {
    it(`${id} (${patches}): the same end states, violations and "sometimes" properties with loop heads honoured, in fewer states`, async () => {
      const def = (await import(/* @vite-ignore */ new URL(`../../web/src/scenarios/${galleryEntry(id)!.file}`, import.meta.url).pathname)).default as ScenarioDefinition;
      const b = buildScenario(def, resolveConfig("linux-6.1", patches));
      const opts = { collectEndStates: true, stopAtFirst: false, maxSeconds: 60 };
      const honoured = await exploreExhaustive(b.spec, b.props, opts);
      const ignored = await exploreExhaustive(b.spec, b.props, { ...opts, loopHeads: false });
      expect(honoured.complete && ignored.complete).toBe(true);
      expect([...honoured.endStates].sort()).toEqual([...ignored.endStates].sort());
      expect(honoured.violations.map((v) => v.invariant).sort()).toEqual(ignored.violations.map((v) => v.invariant).sort());
      expect([...honoured.sometimesSeen].sort()).toEqual([...ignored.sometimesSeen].sort());
      expect(honoured.states).toBeLessThan(ignored.states);
    }, 120_000);
  }
});
