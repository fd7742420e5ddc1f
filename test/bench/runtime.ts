// Runtime figures for `npm run bench`, measured in the same run as the data
// plane's: sampled executions per second on a 5-actor scenario of about 100
// steps, distinct states per second of exhaustive search, states with and
// without the reductions, and the cost of resetting the world (the store's
// undo log, the actors' positions and the WebAssembly arena's checkpoint).

import { DataPlane } from "../../web/src/core";
import { Execution } from "../../web/src/sim/execution";
import { exploreExhaustive } from "../../web/src/sim/exhaustive";
import { randomWalk } from "../../web/src/sim/random-walk";
import { props, toyScenario, type ToySys } from "../support/toy";

/** Five actors of 20 steps each: mostly their own variables, sometimes shared ones. */
function fiveActors() {
  const actor = (i: number) => async (s: ToySys) => {
    for (let k = 0; k < 10; k++) {
      const v = await s.read(k % 4 === 0 ? "shared" : `own${i}`);
      await s.write(k % 5 === 0 ? "counter" : `own${i}`, v + 1);
    }
  };
  return toyScenario(Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`a${i}`, actor(i)])));
}

/** `n` actors of 2 × `rounds` steps, dependent through two shared variables: for exhaustive search. */
function sharedCounters(n: number, rounds: number) {
  const actor = (i: number) => async (s: ToySys) => {
    for (let k = 0; k < rounds; k++) {
      const v = await s.read(k % 2 ? "a" : `x${i}`);
      await s.write(k % 3 ? `x${i}` : "b", v + 1);
    }
  };
  return toyScenario(Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, actor(i)])));
}

export interface RuntimeFigures {
  sample_exec_per_s: number;
  sample_steps_per_exec: number;
  states_per_s: number;
  states_reduced: number;
  states_naive: number;
  transitions_reduced: number;
  transitions_naive: number;
  reset_us: number;
}

export async function runtimeBench(seconds: number): Promise<RuntimeFigures> {
  const now = () => performance.now();
  // Sampling: a fixed number of executions, timed.
  const spec5 = fiveActors();
  await randomWalk(spec5, props(), { seed: 1, maxExecutions: 2000 }); // warm-up (the JIT)
  const t0 = now();
  const sampled = await randomWalk(spec5, props(), { seed: 2, maxExecutions: 1e9, maxSeconds: seconds, now });
  const sampleS = (now() - t0) / 1000;

  // Exhaustive search: states/s on 4 actors x 16 steps (about 60,000 states),
  // and the reduction on 3 actors x 12 steps, with the default reductions and with caching alone.
  const spec3 = sharedCounters(3, 6);
  await exploreExhaustive(spec3, props()); // warm-up
  const big = sharedCounters(4, seconds < 1 ? 6 : 8);
  const t1 = now();
  const bigRun = await exploreExhaustive(big, props());
  const exploreS = (now() - t1) / 1000;
  const reduced = await exploreExhaustive(spec3, props());
  const naive = await exploreExhaustive(spec3, props(), { por: false, sleepSets: false });

  // Reset: the world after a 100-step execution back to its start, arena included.
  const exec = new Execution(spec5);
  await exec.start();
  const cp = exec.checkpoint();
  const dp = await DataPlane.create({ maxFrames: 4096 });
  dp.createImage(0, 1 << 20);
  const dcp = dp.checkpoint();
  let resetMs = 0;
  const rounds = 200;
  for (let r = 0; r < rounds; r++) {
    while (exec.enabled().length > 0) await exec.step({ actor: exec.enabled()[r % exec.enabled().length]! });
    dp.writeImage(0, (r % 16) * 4096, new Uint8Array(16 * 1024).fill(r)); // a few dirty frames, as a scenario's I/O leaves
    const t = now();
    await exec.restore(cp);
    dp.restore(dcp);
    resetMs += now() - t;
  }

  return {
    sample_exec_per_s: Math.round(sampled.executions / sampleS),
    sample_steps_per_exec: Math.round(sampled.steps / sampled.executions),
    states_per_s: Math.round(bigRun.states / exploreS),
    states_reduced: reduced.states,
    states_naive: naive.states,
    transitions_reduced: reduced.transitions,
    transitions_naive: naive.transitions,
    reset_us: Math.round((resetMs / rounds) * 1000 * 10) / 10,
  };
}
