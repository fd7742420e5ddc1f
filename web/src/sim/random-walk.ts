// Sampling: many executions from the initial state, each choosing its own
// interleaving, for scenarios too big to explore exhaustively. This file
// holds the loop shared by every sampler (one Execution, a checkpoint right
// after start and a cheap restore between executions, properties checked as
// an exploration does, stop at the first violation) and the plainest
// sampler on top of it: the uniform random walk.
//
// Everything is drawn from the seeded Rng, so the same seed gives the same
// executions; a clock (`now`) may only stop the loop early, between
// executions.

import type { LiveCounts } from "./live";
import { Execution, type ExecutionSpec, type StepRecord, type Transition } from "./execution";
import type { FoundViolation } from "./exhaustive";
import { checkAfterStep, checkAtEnd, type Properties } from "./properties";
import { normalizeTransition } from "./replay";
import { Rng } from "./rng";

export interface SamplingResult {
  violations: FoundViolation[];
  executions: number;
  /** Steps taken over all executions. */
  steps: number;
  sometimesSeen: Set<string>;
  stoppedBy?: "executions" | "seconds" | "violation";
  /** Executions cut at maxSteps before they ended (not checked at their end). */
  truncated: number;
}

/** One finished execution, for callers that watch (tests, coverage views). */
export interface SampledExecution {
  index: number;
  path: Transition[];
  /** Actors enabled before each step. */
  enabled: number[][];
  /** The trace; the records are the execution's own, the array a copy. */
  steps: StepRecord[];
  violation?: FoundViolation;
  truncated: boolean;
}

export interface SamplingOptions {
  maxExecutions: number;
  /** Longest execution (steps, default 1000); longer ones are cut and not checked at their end. */
  maxSteps?: number;
  maxSeconds?: number;
  /** Clock (milliseconds) for the time bound only. */
  now?: () => number;
  onExecution?: (run: SampledExecution) => void;
  /** Updated before each execution, when the clock is read. */
  live?: LiveCounts;
}

/** Chooses the transitions of one execution. */
export interface Picker {
  /** The next transition, given the actors enabled now (never empty) and the number of steps taken. */
  pick(exec: Execution, enabled: number[], step: number): Transition;
  /** Draws the value of a choice point the transition does not fix (default: 0). */
  choose?: (name: string, options: number) => number;
}

/**
 * Runs up to maxExecutions executions, the n-th with the picker `begin(n)`
 * returns, and stops at the first violation.
 */
export async function sampleExecutions(
  spec: ExecutionSpec,
  props: Properties,
  opts: SamplingOptions,
  begin: (n: number) => Picker,
  end?: (run: SampledExecution) => void,
): Promise<SamplingResult> {
  const maxSteps = opts.maxSteps ?? 1000;
  const now = opts.now ?? (() => performance.now());
  const deadline = opts.maxSeconds === undefined ? Infinity : now() + opts.maxSeconds * 1000;
  const res: SamplingResult = { violations: [], executions: 0, steps: 0, sometimesSeen: new Set(), truncated: 0 };

  const exec = new Execution(spec);
  await exec.start();
  const initial = checkAfterStep(exec, props, res.sometimesSeen);
  if (initial) {
    // Violated before anyone moved: every execution starts with it.
    res.violations.push({ ...initial, path: [] });
    res.executions = 1;
    res.stoppedBy = "violation";
    return res;
  }
  const cp = exec.checkpoint();
  for (let n = 0; n < opts.maxExecutions; n++) {
    if (n > 0) {
      if (opts.live) { opts.live.executions = res.executions; opts.live.transitions = res.steps; }
      if (now() > deadline) { res.stoppedBy = "seconds"; break; }
      await exec.restore(cp);
    }
    const picker = begin(n);
    const path: Transition[] = [];
    const enabledLog: number[][] = [];
    let violation: FoundViolation | undefined;
    let truncated = false;
    for (;;) {
      const en = exec.enabled();
      if (en.length === 0) {
        const v = checkAtEnd(exec, props, res.sometimesSeen);
        if (v) violation = { ...v, path: path.slice() };
        break;
      }
      if (path.length >= maxSteps) { truncated = true; break; }
      const t = picker.pick(exec, en, path.length);
      enabledLog.push(en);
      const taken = exec.stepNow(t, picker.choose);
      const rec = taken instanceof Promise ? await taken : taken;
      // The schedule records the choice values the step actually took.
      path.push(rec.choicePoints.length === 0 ? t : normalizeTransition({ ...t, choices: rec.choicePoints.map((c) => c.value) }));
      res.steps++;
      const v = checkAfterStep(exec, props, res.sometimesSeen);
      if (v) { violation = { ...v, path: path.slice() }; break; }
    }
    res.executions++;
    if (truncated) res.truncated++;
    if (end || opts.onExecution) {
      const run: SampledExecution = { index: n, path, enabled: enabledLog, steps: exec.steps.slice(), violation, truncated };
      end?.(run);
      opts.onExecution?.(run);
    }
    if (violation) {
      res.violations.push(violation);
      res.stoppedBy = "violation";
      break;
    }
  }
  res.stoppedBy ??= "executions";
  return res;
}

/** A value in [0, 1) from the generator. */
export function unit(rng: Rng): number {
  return rng.next() / 2 ** 32;
}

/**
 * The step of actor `i`, or its death with probability `killProbability`
 * when it may crash. Its choice values are drawn when the step meets its
 * choice points (each uniformly among its options: see `uniformChoice`), so
 * sampling never runs a step twice.
 */
export function pickStep(exec: Execution, i: number, rng: Rng, killProbability: number): Transition {
  const kill = exec.actors[i]!.mayCrash && killProbability > 0 && unit(rng) < killProbability;
  return kill ? { actor: i, kill } : { actor: i };
}

/** A choice point's value, uniform among its options. */
export function uniformChoice(rng: Rng): (name: string, options: number) => number {
  return (_name, options) => rng.below(options);
}

export interface RandomWalkOptions extends SamplingOptions {
  seed: number;
  /** Chance that a step of an actor that may crash is its death instead (default 0.05). */
  killProbability?: number;
}

/**
 * Uniform random walk: at each step an enabled actor is drawn uniformly,
 * then (for an actor that may crash) its death with probability
 * killProbability, then each of its choice values uniformly. Drawing the actor
 * first keeps an actor whose step has many choice values from crowding out
 * the others.
 */
export async function randomWalk(spec: ExecutionSpec, props: Properties, opts: RandomWalkOptions): Promise<SamplingResult> {
  const rng = new Rng(opts.seed);
  const killProbability = opts.killProbability ?? 0.05;
  const picker: Picker = {
    pick: (exec, en) => pickStep(exec, en[rng.below(en.length)]!, rng, killProbability),
    choose: uniformChoice(rng),
  };
  return sampleExecutions(spec, props, opts, () => picker);
}
