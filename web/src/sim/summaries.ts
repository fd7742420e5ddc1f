// What lies below a visited state, for state caching under dynamic
// partial-order reduction. A cached state is not explored again, which alone
// would make the reduction unsound: its subtree's races with the path that
// reaches it again would go unseen. So each visited state keeps a summary,
// per actor the union of the footprints of every step taken and every step
// probed below it, and reaching it again replays those as races against the
// current path (dpor.ts, summaryRaces).

import { mergeBits, type Bits, type FootprintEncoder } from "./footprint-bits";
import type { Probe } from "./execution";

/** Per actor, the union of the footprints of its steps (taken or probed) below a state; null: none. */
export type Summary = (Bits | null)[];

export function emptySummary(nActors: number): Summary {
  return new Array<Bits | null>(nActors).fill(null);
}

/** summary[actor] ∪= b (the summary owns what it changes: see mergeBits). */
export function mergeStep(summary: Summary, actor: number, b: Bits): void {
  mergeBits(summary, summary, actor, b);
}

/** into ∪= from, actor by actor. */
export function mergeSummary(into: Summary, from: Summary): void {
  for (let a = 0; a < from.length; a++) if (from[a]) mergeStep(into, a, from[a]!);
}

/** The steps waiting in a state belong below it too: a blocked one may never run below, yet it races. */
export function mergeProbes(summary: Summary, probes: readonly (Probe | undefined)[], enc: FootprintEncoder): void {
  for (let p = 0; p < probes.length; p++) {
    const pr = probes[p];
    if (pr !== undefined) mergeStep(summary, p, enc.ofProbe(pr).all);
  }
}
