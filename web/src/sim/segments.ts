// Reading aids for a trace: the runs of consecutive steps by one actor (what
// a timeline draws as one block, and where the context switches are), and
// the racing pair a reader should look at first.

import { callText, formatValue } from "./format-value";
import type { StepRecord, Transition } from "./execution";
import { conflicts } from "./store";

export interface Segment {
  actor: string;
  /** First step of the run (0-based index into the trace). */
  from: number;
  /** Last step of the run, inclusive. */
  to: number;
  /** Each step as people read it (sim/format-value.ts): `write("n", 1)`, `tryLock("L") -> EBUSY`, `<killed> in lock`. */
  calls: string[];
}

export function describeStep(s: StepRecord): string {
  if (s.call === "<killed>") {
    const where = s.args[0]; // the name of the call it was killed in
    return `<killed> in ${where === undefined ? "?" : typeof where === "string" ? where : formatValue(where)}`;
  }
  const text = callText(s.call, s.args);
  return s.outcome.ok ? text : `${text} -> ${s.outcome.error.errno}`;
}

/**
 * Consecutive runs of one actor. The actor of each step comes from the trace
 * (`steps`), or from the schedule (`path`) for steps the trace does not
 * have (a replay that stopped early); `actorNames` maps indices to names.
 */
export function segments(path: readonly Transition[], steps: readonly StepRecord[], actorNames: readonly string[]): Segment[] {
  const out: Segment[] = [];
  const n = Math.max(path.length, steps.length);
  for (let i = 0; i < n; i++) {
    const s = steps[i];
    const actor = s?.actor ?? path[i]!.actor;
    const call = s ? describeStep(s) : path[i]!.kill ? "<killed>" : "?";
    const last = out[out.length - 1];
    const name = actorNames[actor] ?? `#${actor}`;
    if (last && last.actor === name && last.to === i - 1) {
      last.to = i;
      last.calls.push(call);
    } else {
      out.push({ actor: name, from: i, to: i, calls: [call] });
    }
  }
  return out;
}

/**
 * The last pair of steps by different actors whose footprints conflict
 * (the later step as late as possible, then the earlier one): in a trace
 * that ends at a violation, the race closest to it, the one whose order a
 * reader should question first. Undefined when no two actors touched the
 * same object.
 */
export function racingPair(steps: readonly StepRecord[]): [number, number] | undefined {
  for (let j = steps.length - 1; j > 0; j--) {
    const b = steps[j]!;
    for (let i = j - 1; i >= 0; i--) {
      const a = steps[i]!;
      if (a.actor !== b.actor && conflicts(a.footprint, b.footprint)) return [i, j];
    }
  }
  return undefined;
}
