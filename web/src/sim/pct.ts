// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi
// and Nagarakatte, "A randomized scheduler with probabilistic guarantees of
// finding bugs", ASPLOS 2010).
//
// Each execution gives the actors random distinct priorities and picks d-1
// change points, steps drawn uniformly from [1, k]. The highest-priority
// enabled actor always runs; after the k_i-th step the actor that took it
// drops below every other actor (each drop goes lower than the last). So an
// execution switches away from an actor that can still run only at a change
// point, or when a higher-priority actor that was blocked can run again:
// where no actor waits for another, depth 1 never preempts and depth d
// preempts at most d-1 times.
//
// The guarantee: a bug of depth d (it shows once d ordering constraints
// between steps hold, e.g. depth 2 for a lost update or an ordering bug,
// depth 1 for one that any order shows) in a scenario with n actors and at
// most k steps is found by a single depth-d execution with probability at
// least 1/(n * k^(d-1)). k is taken from the longest execution seen so far
// (before the first one, `stepsEstimate`, default 100); an estimate below the
// real length weakens the bound, one above it only dilutes it.
//
// The guarantee covers the schedule. Values of choice points are drawn
// uniformly (a bug that needs a particular value is found with that much
// less probability); deaths of actors that may crash are drawn with
// `killProbability`, 0 by default, since they are not part of PCT.

import type { ExecutionSpec } from "./execution";
import type { Properties } from "./properties";
import { pickStep, sampleExecutions, uniformChoice, type Picker, type SamplingOptions, type SamplingResult } from "./random-walk";
import { Rng } from "./rng";

export type PctDepth = 1 | 2 | 3;

interface PctCommon extends SamplingOptions {
  seed: number;
  /** Steps of one execution, before any has been seen (default 100). */
  stepsEstimate?: number;
  /** Chance that a step of an actor that may crash is its death instead (default 0). */
  killProbability?: number;
}

export interface PctOptions extends PctCommon {
  depth: PctDepth;
}

export interface PctPortfolioOptions extends PctCommon {
  /** Depths taken in turn (default 1, 2, 3). */
  depths?: readonly PctDepth[];
}

/** The scheduler of one execution: its priorities and change points. */
export function pctPicker(rng: Rng, actors: number, depth: number, k: number, killProbability = 0): Picker & { priorities: number[]; changePoints: number[] } {
  // Initial priorities 1..n in random order; drops go to 0, -1, ...
  const order = Array.from({ length: actors }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const priorities = new Array<number>(actors);
  order.forEach((a, rank) => { priorities[a] = actors - rank; });
  const kk = Math.max(1, Math.floor(k));
  const changePoints = Array.from({ length: Math.max(0, depth - 1) }, () => 1 + rng.below(kk));
  let low = 0;
  let last = -1;
  return {
    priorities,
    changePoints,
    pick(exec, enabled, step) {
      // A change point at `step`: the actor that took the step-th step drops below everyone.
      if (last >= 0) for (const c of changePoints) if (c === step) priorities[last] = low--;
      let best = enabled[0]!;
      for (const i of enabled) if (priorities[i]! > priorities[best]!) best = i;
      last = best;
      return pickStep(exec, best, rng, killProbability);
    },
    choose: uniformChoice(rng),
  };
}

async function run(spec: ExecutionSpec, props: Properties, opts: PctCommon, depthOf: (n: number) => PctDepth): Promise<SamplingResult> {
  const rng = new Rng(opts.seed);
  let longest = 0;
  const estimate = opts.stepsEstimate ?? 100;
  return sampleExecutions(
    spec,
    props,
    opts,
    (n) => pctPicker(rng, spec.actors.length, depthOf(n), longest > 0 ? longest : estimate, opts.killProbability ?? 0),
    (r) => { if (r.path.length > longest) longest = r.path.length; },
  );
}

/** PCT at one depth. */
export function pct(spec: ExecutionSpec, props: Properties, opts: PctOptions): Promise<SamplingResult> {
  return run(spec, props, opts, () => opts.depth);
}

/**
 * PCT over depths 1, 2, 3 in turn (one execution each), for when the depth
 * of the bug is not known: a bug of depth d <= 3 is found by each run of
 * three executions with probability at least 1/(n * k^(d-1)).
 */
export function pctPortfolio(spec: ExecutionSpec, props: Properties, opts: PctPortfolioOptions): Promise<SamplingResult> {
  const depths = opts.depths && opts.depths.length > 0 ? opts.depths : ([1, 2, 3] as const);
  return run(spec, props, opts, (n) => depths[n % depths.length]!);
}
