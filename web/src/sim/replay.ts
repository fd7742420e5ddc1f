// Replay: run an execution along a given schedule (a list of transitions),
// checking the properties after every step as an exploration does, so that
// a counterexample found by any strategy can be shown again step by step.
//
// A schedule may be a prefix (a hand-shortened token, or one cut from a
// link): when it runs out while some actor can still move, the run goes on
// deterministically, always with the lowest-index enabled actor, its choice
// points at their ordinary value (0) and nobody killed, so that any prefix
// still gives one full run and the same prefix always gives the same run.
//
// A schedule that no longer fits the script (edited since the schedule was
// recorded) stops the replay at the first step that does not fit, with a
// message naming that step, the actor, and what the schedule expected
// against what the script now does. A schedule alone (actor indices and
// choice values) only notices an edit that changes which steps are
// possible; with `expect` (the calls of the original trace) an edit that
// changes what an actor calls is caught at its first differing call too.
//
// A bug in the script (ScriptError) or in a model is not an outcome: it is
// thrown to the caller, as by Execution.step.

import { callText, formatValue } from "./format-value";
import { canonical } from "./hash";
import { DivergenceError, Execution, type ExecutionSpec, type StepRecord, type Transition } from "./execution";
import type { FoundViolation } from "./exhaustive";
import { checkAfterStep, checkAtEnd, type Properties } from "./properties";

export interface ReplayOptions {
  /** Longest run, counting the continuation after the schedule (default 1000). */
  maxSteps?: number;
  /**
   * What the original run did at each step: the call (StepRecord.call,
   * "<killed>" for a death) and optionally its arguments. A step whose
   * pending call differs stops the replay as a divergence.
   */
  expect?: readonly { call: string; args?: readonly unknown[] }[];
}

export interface ReplayDivergence {
  /**
   * 0-based index into the schedule of the step that does not fit (the
   * message counts from 1). The execution stops before that step, except
   * for an actor that behaved differently on the same observations
   * (DivergenceError, a script that is not deterministic): that step ran
   * and is the last of `exec.steps`.
   */
  step: number;
  message: string;
}

export interface ReplayResult {
  /** The execution as it stands: `exec.steps` is the trace. */
  exec: Execution;
  violation?: FoundViolation;
  divergence?: ReplayDivergence;
  /** Every transition taken, the schedule's and the continuation's. */
  taken: Transition[];
  /** Actors enabled before each step taken (for preemption counts and "who else could run"). */
  enabled: number[][];
  /** Index in `taken` where the deterministic continuation began, if the schedule ran out before the end. */
  continuedAt?: number;
  /** True when the run ended with nothing enabled (the end-of-run checks were made). */
  finished: boolean;
  sometimesSeen: Set<string>;
}

/** Choice values without trailing zeros: 0 is what a choice point takes when not given a value. */
export function normalizeTransition(t: Transition): Transition {
  const choices = t.choices ? [...t.choices] : [];
  while (choices.length > 0 && choices[choices.length - 1] === 0) choices.pop();
  const out: Transition = { actor: t.actor };
  if (t.kill) out.kill = true;
  if (choices.length > 0) out.choices = choices;
  return out;
}

export function sameTransition(a: Transition, b: Transition): boolean {
  const x = normalizeTransition(a);
  const y = normalizeTransition(b);
  return x.actor === y.actor && !!x.kill === !!y.kill && (x.choices ?? []).join(".") === (y.choices ?? []).join(".");
}

/** "b kill with choice values 1.0", for messages. */
export function describeTransition(exec: Execution, t: Transition): string {
  const name = exec.actors[t.actor]?.who.name ?? `actor #${t.actor}`;
  const n = normalizeTransition(t);
  return `${n.kill ? `killing ${name}` : name}${n.choices ? ` with choice values ${n.choices.join(".")}` : ""}`;
}

/** Why actor `i` cannot take a step now, for people. */
export function whyNotEnabled(exec: Execution, i: number): string {
  const a = exec.actors[i];
  if (!a) return `the scenario has no actor #${i} (it has ${exec.actors.length})`;
  const name = a.who.name;
  switch (a.status) {
    case "done": return `${name} has finished`;
    case "killed": return `${name} was killed`;
    case "diverged": return `${name} diverged from its log`;
    case "failed": return `${name} failed: ${a.error instanceof Error ? a.error.message : formatValue(a.error)}`;
    case "parked":
      if (!a.pending) return `${name} is not waiting at a call`;
      return `${name} is blocked in ${callText(a.pending.call, a.pending.args)}${a.pending.waitingFor ? ` ${a.pending.waitingFor}` : ""}`;
  }
}

/**
 * Why `t` cannot be taken now, or undefined when it can: the actor must be
 * enabled, a death must be allowed (mayCrash), the choice values must be
 * among those its step offers, and the call must be the expected one.
 */
function mismatch(exec: Execution, t: Transition, want: { call: string; args?: readonly unknown[] } | undefined): string | undefined {
  const a = exec.actors[t.actor];
  if (!a || !exec.isEnabled(t.actor)) return `the schedule runs ${describeTransition(exec, t)}, but ${whyNotEnabled(exec, t.actor)}`;
  const op = a.pending!;
  const found = t.kill ? "<killed>" : op.call;
  const foundArgs = t.kill ? [op.call] : op.args;
  if (want && (want.call !== found || (want.args !== undefined && canonical(want.args) !== canonical(foundArgs)))) {
    const show = (call: string, args: readonly unknown[] | undefined) => (args === undefined ? call : callText(call, args));
    const expected = want.call === "<killed>" ? `to be killed${want.args?.length ? ` in ${formatValue(want.args[0])}` : ""}` : `to call ${show(want.call, want.args)}`;
    const got = t.kill ? `is killed in ${op.call}` : `calls ${show(op.call, want.args === undefined ? undefined : op.args)}`;
    return `the schedule expected ${a.who.name} ${expected}, but the script now ${got}`;
  }
  if (t.kill && !a.mayCrash) return `the schedule kills ${a.who.name}, but ${a.who.name} may not crash (mayCrash is off)`;
  const n = normalizeTransition(t);
  if (n.choices || t.kill) {
    const alts = exec.probe(t.actor).alternatives;
    if (!alts.some((x) => sameTransition(x, n))) {
      const offered = alts.filter((x) => !!x.kill === !!n.kill).map((x) => normalizeTransition(x).choices?.join(".") ?? "0");
      return `the schedule gives ${a.who.name}'s ${callText(op.call, op.args)} choice values ${n.choices?.join(".") ?? "0"}, but the step offers only ${offered.join(", ")}`;
    }
  }
  return undefined;
}

export async function replaySchedule(spec: ExecutionSpec, props: Properties, path: Transition[], opts: ReplayOptions = {}): Promise<ReplayResult> {
  const maxSteps = opts.maxSteps ?? 1000;
  const exec = new Execution(spec);
  const res: ReplayResult = { exec, taken: [], enabled: [], finished: false, sometimesSeen: new Set() };
  const found = (v: { invariant: string; message: string }) => {
    res.violation = { ...v, path: res.taken.map(normalizeTransition) };
  };
  const diverged = (step: number, message: string) => {
    res.divergence = { step, message: `step ${step + 1} of the schedule: ${message}` };
  };
  await exec.start();
  let v = checkAfterStep(exec, props, res.sometimesSeen);
  if (v) { found(v); return res; }
  for (let i = 0; ; i++) {
    const en = exec.enabled();
    if (i >= path.length && en.length === 0) {
      res.finished = true;
      v = checkAtEnd(exec, props, res.sometimesSeen);
      if (v) found(v);
      return res;
    }
    if (i >= maxSteps) return res;
    let t: Transition;
    if (i < path.length) {
      t = normalizeTransition(path[i]!);
      const why = mismatch(exec, t, opts.expect?.[i]);
      if (why) { diverged(i, why); return res; }
    } else {
      res.continuedAt ??= i;
      t = { actor: en[0]! };
    }
    res.enabled.push(en);
    res.taken.push(t);
    try {
      await exec.step(t);
    } catch (e) {
      if (!(e instanceof DivergenceError)) throw e;
      res.taken.pop();
      res.enabled.pop();
      diverged(i, e.message);
      return res;
    }
    v = checkAfterStep(exec, props, res.sometimesSeen);
    if (v) { found(v); return res; }
  }
}

/** The calls of a trace in the form `expect` takes. */
export function expectedCalls(steps: readonly StepRecord[]): { call: string; args: readonly unknown[] }[] {
  return steps.map((s) => ({ call: s.call, args: s.args }));
}
