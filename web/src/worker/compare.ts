// Compare: one schedule replayed under two configurations (before and after
// a patch), and the first step whose outcome differs. Runs in the sandbox.
//
// The schedule is followed where it fits under each configuration. A
// configuration that changes what the kernel does can make the schedule
// ask for a move that is no longer possible (an actor blocked or finished
// there): the replay then goes on from that point as a plain run does (the
// lowest-index actor that can move), and the side says where it left the
// schedule. Either way the two traces are compared step by step: actor,
// call, arguments, and result or errno.

import type { BuiltScenario } from "../api/build";
import { canonical } from "../sim/hash";
import { replaySchedule } from "../sim/replay";
import { decodeSchedule } from "../sim/schedule";
import { traceOf, type Trace, type TraceStep } from "../sim/trace";
import type { Config } from "../api/types";
import { recordWorld } from "./world";
import type { WorldFrames } from "./world-types";

export interface CompareSide {
  label: string;
  config: Config;
  trace: Trace;
  /** violation, pass (finished with every invariant holding), unfinished (stopped at the step budget). */
  verdict: "violation" | "pass" | "unfinished";
  violation?: { invariant: string; message: string };
  /** Where the schedule stopped fitting, and why (the rest ran as a plain run does). */
  leftSchedule?: { step: number; message: string };
  world?: WorldFrames;
}

export interface CompareResult {
  schedule: string;
  /** Where the schedule came from: given by the page, a counterexample found under A, or A's plain run. */
  source: "given" | "explored" | "run";
  sides: [CompareSide, CompareSide];
  /** 0-based index of the first step whose actor, call, arguments or outcome differ; absent when the traces are equal. */
  firstDiff?: number;
}

/** What decides that two steps differ: who moved, what it called, and what it got. */
export function stepKey(s: TraceStep | undefined): string {
  if (!s) return "";
  return canonical([s.actor, s.call, s.args, s.errno ?? null, s.errno ? null : (s.result ?? null)]);
}

export function firstDifference(a: Trace, b: Trace): number | undefined {
  const n = Math.max(a.steps.length, b.steps.length);
  for (let i = 0; i < n; i++) if (stepKey(a.steps[i]) !== stepKey(b.steps[i])) return i;
  return undefined;
}

export async function replaySide(built: BuiltScenario, label: string, schedule: string, maxSteps: number): Promise<CompareSide> {
  const path = decodeSchedule(schedule);
  let r = await replaySchedule(built.spec, built.props, path, { maxSteps });
  let leftSchedule: CompareSide["leftSchedule"];
  if (r.divergence) {
    leftSchedule = { step: r.divergence.step, message: r.divergence.message };
    // Go on from where it stopped fitting, as a run does when its schedule runs out.
    r = await replaySchedule(built.spec, built.props, r.taken, { maxSteps });
  }
  const trace = traceOf(r.exec);
  const side: CompareSide = {
    label,
    config: built.config,
    trace,
    verdict: r.violation ? "violation" : r.finished ? "pass" : "unfinished",
  };
  if (r.violation) side.violation = { invariant: r.violation.invariant, message: r.violation.message };
  if (leftSchedule) side.leftSchedule = leftSchedule;
  try {
    side.world = await recordWorld(built, decodeSchedule(trace.schedule), trace.steps);
  } catch {
    /* the views are a bonus: the comparison stands without them */
  }
  return side;
}
