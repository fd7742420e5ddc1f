// The front door of the runtime: run a scenario once (following a schedule
// when one is given) or explore it, check its properties, and answer in the
// shape the CLI prints and the UI shows (docs/scenario-api.md, "Results").

import { DivergenceError, ScriptError, type ExecutionSpec } from "./execution";
import { exploreExhaustive, type FoundViolation } from "./exhaustive";
import { pctPortfolio } from "./pct";
import type { Properties, Violation } from "./properties";
import { randomWalk } from "./random-walk";
import { replaySchedule } from "./replay";
import { decodeSchedule, encodeSchedule } from "./schedule";
import { racingPair, segments, type Segment } from "./segments";
import { shortenWithStats } from "./shorten";
import { traceOf, type Trace } from "./trace";
import type { LiveCounts } from "./live";

export type Mode = "run" | "random" | "pct" | "explore";
export type VerdictName = "pass" | "vacuous" | "violation" | "error";

export interface VerifyOptions {
  mode: Mode;
  seed?: number;
  /** A schedule token to follow (run mode). */
  schedule?: string;
  maxExecutions?: number;
  maxSeconds?: number;
  maxSteps?: number;
  maxStates?: number;
  /** Exhaustive search: dynamic partial-order reduction (on unless false; see exhaustive.ts). */
  por?: boolean;
  /** States visited shortening each counterexample (default SHORTEN_STATES): work, not time, so that what is printed is the same on any machine. */
  shortenStates?: number;
  /** The clock of the maxSeconds bound; also called while a counterexample is shortened, for live progress only. */
  now?: () => number;
  /** Counters the search keeps up to date (at least whenever it reads the clock), for live progress. */
  live?: LiveCounts;
}

export interface ReportedViolation extends Violation {
  schedule: string;
  trace: Trace;
  /** Context switches away from an actor that could have gone on (after shortening). */
  preemptions?: number;
  /** True when shortening proved no execution with fewer preemptions (then steps) shows it. */
  shortest?: boolean;
  segments: Segment[];
  /** The last two steps of different actors whose footprints conflict: the race to look at. */
  racingPair?: [number, number];
}

export interface VerifyResult {
  verdict: VerdictName;
  mode: Mode;
  executions: number;
  complete: boolean;
  states?: number;
  transitions?: number;
  collisionOdds?: number;
  stoppedBy?: string;
  violations: ReportedViolation[];
  /** Each "sometimes" property and whether some execution made it hold. */
  sometimes: { name: string; held: boolean }[];
  /** The trace of the run (run mode). */
  trace?: Trace;
  error?: { message: string; actor?: string; step?: number; stack?: string };
}

function sometimesOf(props: Properties, seen: Set<string>): VerifyResult["sometimes"] {
  return props.sometimes.map((s) => ({ name: s.name, held: seen.has(s.name) }));
}

function verdictOf(violations: number, props: Properties, seen: Set<string>): VerdictName {
  if (violations > 0) return "violation";
  return props.sometimes.every((s) => seen.has(s.name)) ? "pass" : "vacuous";
}

function errorResult(mode: Mode, e: unknown): VerifyResult {
  if (e instanceof ScriptError) {
    const stack = e.error instanceof Error ? e.error.stack : undefined;
    return { verdict: "error", mode, executions: 0, complete: false, violations: [], sometimes: [], error: { message: e.message, actor: e.actor, ...(stack ? { stack } : {}) } };
  }
  if (e instanceof DivergenceError) return { verdict: "error", mode, executions: 0, complete: false, violations: [], sometimes: [], error: { message: e.message, actor: e.actor, step: e.position + 1 } };
  throw e;
}

/**
 * A found violation as people see it: shortened to the fewest preemptions,
 * then the fewest steps; replayed for its trace; cut into per-actor
 * segments with the racing pair marked.
 */
async function present(spec: ExecutionSpec, props: Properties, found: FoundViolation, opts: VerifyOptions): Promise<ReportedViolation> {
  const short = await shortenWithStats(spec, props, found, { maxStates: opts.shortenStates, tick: opts.now });
  const r = await replaySchedule(spec, props, short.violation.path, { maxSteps: short.violation.path.length });
  const steps = r.exec.steps;
  const trace = traceOf(r.exec);
  return {
    invariant: short.violation.invariant,
    message: short.violation.message,
    schedule: encodeSchedule(short.violation.path),
    trace,
    preemptions: short.preemptions,
    shortest: short.complete,
    segments: segments(r.taken, steps, r.exec.actors.map((a) => a.who.name)),
    racingPair: racingPair(steps),
  };
}

export async function verify(spec: ExecutionSpec, props: Properties, opts: VerifyOptions): Promise<VerifyResult> {
  const mode = opts.mode;
  try {
    if (mode === "run") {
      const path = opts.schedule ? decodeSchedule(opts.schedule) : [];
      const r = await replaySchedule(spec, props, path, { maxSteps: opts.maxSteps });
      const trace = traceOf(r.exec);
      if (r.divergence) {
        return { verdict: "error", mode, executions: 1, complete: false, violations: [], sometimes: sometimesOf(props, r.sometimesSeen), trace,
          error: { message: r.divergence.message, step: r.divergence.step + 1 } };
      }
      const violations: ReportedViolation[] = r.violation
        ? [{ invariant: r.violation.invariant, message: r.violation.message, schedule: trace.schedule, trace,
            segments: segments(r.taken, r.exec.steps, r.exec.actors.map((a) => a.who.name)), racingPair: racingPair(r.exec.steps) }]
        : [];
      return { verdict: verdictOf(violations.length, props, r.sometimesSeen), mode, executions: 1, complete: r.finished, violations, sometimes: sometimesOf(props, r.sometimesSeen), trace };
    }
    if (mode === "explore") {
      const r = await exploreExhaustive(spec, props, {
        maxSteps: opts.maxSteps, maxStates: opts.maxStates, maxExecutions: opts.maxExecutions,
        maxSeconds: opts.maxSeconds, now: opts.now, por: opts.por, live: opts.live,
      });
      const violations = [];
      for (const f of r.violations) violations.push(await present(spec, props, f, opts));
      return {
        verdict: verdictOf(violations.length, props, r.sometimesSeen), mode, executions: r.executions,
        complete: r.complete, states: r.states, transitions: r.transitions, collisionOdds: r.collisionOdds,
        stoppedBy: r.stoppedBy, violations, sometimes: sometimesOf(props, r.sometimesSeen),
      };
    }
    const sampling = { seed: opts.seed ?? 1, maxExecutions: opts.maxExecutions ?? 10_000, maxSteps: opts.maxSteps, maxSeconds: opts.maxSeconds, now: opts.now, live: opts.live };
    const r = mode === "random" ? await randomWalk(spec, props, sampling) : await pctPortfolio(spec, props, sampling);
    const violations = [];
    for (const f of r.violations) violations.push(await present(spec, props, f, opts));
    // Sampling never proves anything: it is complete only in the sense that it ran its budget.
    return {
      verdict: verdictOf(violations.length, props, r.sometimesSeen), mode, executions: r.executions, complete: false,
      stoppedBy: r.stoppedBy, violations, sometimes: sometimesOf(props, r.sometimesSeen),
    };
  } catch (e) {
    return errorResult(mode, e);
  }
}
