// Runtime figures for `npm run bench`, measured in the same run as the data
// plane's: sampled executions per second on a 5-actor scenario of about 100
// steps, distinct states per second of exhaustive search on the same
// scenario, the states and transitions each reduction leaves (caching alone,
// DPOR, DPOR with sleep sets) side by side, and the cost of resetting the
// world (the store's undo log, the actors' positions and the WebAssembly
// arena's checkpoint).

import { DataPlane } from "../../web/src/core";
import { Execution, type ExecutionSpec } from "../../web/src/sim/execution";
import { exploreExhaustive, type ExhaustiveOptions } from "../../web/src/sim/exhaustive";
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

/** `n` actors of 2 × `rounds` steps, dependent through two shared variables. */
function sharedCounters(n: number, rounds: number) {
  const actor = (i: number) => async (s: ToySys) => {
    for (let k = 0; k < rounds; k++) {
      const v = await s.read(k % 2 ? "a" : `x${i}`);
      await s.write(k % 3 ? `x${i}` : "b", v + 1);
    }
  };
  return toyScenario(Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, actor(i)])));
}

/** One exhaustive search of one scenario with one set of reductions (all keep caching). */
export interface ReductionRow {
  scenario: string;
  reductions: "caching" | "dpor" | "dpor+sleep";
  states: number;
  transitions: number;
  executions: number;
  /** False when the state bound stopped it (then states is a lower bound). */
  complete: boolean;
  ms: number;
}

export interface RuntimeFigures {
  sample_exec_per_s: number;
  sample_steps_per_exec: number;
  /** Distinct states per second of exhaustive search with the default reductions, on the 5-actor scenario. */
  states_per_s: number;
  /** The same searches' states per CPU second of the process. */
  states_per_cpu_s: number;
  states_searches: number;
  states_scenario: string;
  states_reduced: number;
  states_naive: number;
  transitions_reduced: number;
  transitions_naive: number;
  reductions: ReductionRow[];
  /** Median of 200 resets after 100-step executions (and the mean). */
  reset_us: number;
  reset_mean_us: number;
}

const CONFIGS: { name: ReductionRow["reductions"]; opts: ExhaustiveOptions }[] = [
  { name: "caching", opts: { por: false, sleepSets: false } },
  { name: "dpor", opts: { sleepSets: false } },
  { name: "dpor+sleep", opts: {} },
];

export async function runtimeBench(seconds: number): Promise<RuntimeFigures> {
  const now = () => performance.now();
  // Sampling: executions in a time window, after a warm-up (the JIT).
  const spec5 = fiveActors();
  await randomWalk(spec5, props(), { seed: 1, maxExecutions: 2000 });
  const t0 = now();
  const sampled = await randomWalk(spec5, props(), { seed: 2, maxExecutions: 1e9, maxSeconds: seconds, now });
  const sampleS = (now() - t0) / 1000;

  // Exhaustive search, default reductions, on the same 5-actor scenario (it
  // completes: 91,573 states): whole searches, at least 3 and until the
  // window is used up; the median rate, and the rate per CPU second (all of
  // the process's threads, the garbage collector's included), which a busy
  // machine disturbs less than the wall clock.
  await exploreExhaustive(fiveActors(), props(), { maxStates: 20_000 }); // warm-up
  const rates: number[] = [];
  let exploreMs = 0;
  let states = 0;
  const cpu0 = process.cpuUsage();
  do {
    const t = now();
    const r = await exploreExhaustive(fiveActors(), props());
    const ms = now() - t;
    exploreMs += ms;
    states += r.states;
    rates.push(r.states / (ms / 1000));
  } while (rates.length < (seconds < 1 ? 3 : 5) || exploreMs < seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  rates.sort((a, b) => a - b);

  // States and transitions with and without the reductions, side by side.
  const scenarios: [string, () => ExecutionSpec, number][] = [
    ["3 actors × 12 steps (sharedCounters)", () => sharedCounters(3, 6), Infinity],
    [`4 actors × ${seconds < 1 ? 12 : 16} steps (sharedCounters)`, () => sharedCounters(4, seconds < 1 ? 6 : 8), Infinity],
    ["5 actors × 20 steps (fiveActors)", fiveActors, seconds < 1 ? 100_000 : 150_000],
  ];
  const reductions: ReductionRow[] = [];
  for (const [scenario, spec, maxStates] of scenarios) {
    for (const c of CONFIGS) {
      const t = now();
      const r = await exploreExhaustive(spec(), props(), { ...c.opts, ...(maxStates < Infinity ? { maxStates } : {}) });
      reductions.push({ scenario, reductions: c.name, states: r.states, transitions: r.transitions, executions: r.executions, complete: r.complete, ms: now() - t });
    }
  }
  const row = (s: string, c: string) => reductions.find((r) => r.scenario.startsWith(s) && r.reductions === c)!;

  // Reset: the world after a 100-step execution back to its start, arena included.
  const exec = new Execution(spec5);
  await exec.start();
  const cp = exec.checkpoint();
  const dp = await DataPlane.create({ maxFrames: 4096 });
  dp.createImage(0, 1 << 20);
  const dcp = dp.checkpoint();
  const resets: number[] = [];
  const rounds = 200;
  for (let r = -50; r < rounds; r++) { // 50 rounds of warm-up
    while (exec.enabled().length > 0) await exec.step({ actor: exec.enabled()[(r + 50) % exec.enabled().length]! });
    dp.writeImage(0, ((r + 50) % 16) * 4096, new Uint8Array(16 * 1024).fill(r + 50)); // a few dirty frames, as a scenario's I/O leaves
    const t = now();
    await exec.restore(cp);
    dp.restore(dcp);
    if (r >= 0) resets.push(now() - t);
  }
  // The median: on a shared machine the mean is mostly the odd preemption.
  resets.sort((a, b) => a - b);
  const resetMedianMs = resets[rounds >> 1]!;
  const resetMeanMs = resets.reduce((a, b) => a + b, 0) / rounds;

  return {
    sample_exec_per_s: Math.round(sampled.executions / sampleS),
    sample_steps_per_exec: Math.round(sampled.steps / sampled.executions),
    states_per_s: Math.round(rates[rates.length >> 1]!),
    states_per_cpu_s: Math.round(states / ((cpu.user + cpu.system) / 1e6)),
    states_searches: rates.length,
    states_scenario: "5 actors × 20 steps (fiveActors), DPOR + sleep sets + caching",
    states_reduced: row("3 actors", "dpor+sleep").states,
    states_naive: row("3 actors", "caching").states,
    transitions_reduced: row("3 actors", "dpor+sleep").transitions,
    transitions_naive: row("3 actors", "caching").transitions,
    reductions,
    reset_us: Math.round(resetMedianMs * 1000 * 10) / 10,
    reset_mean_us: Math.round(resetMeanMs * 1000 * 10) / 10,
  };
}
