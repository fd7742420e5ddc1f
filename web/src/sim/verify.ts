// The front door of the runtime: run a scenario once (following a schedule
// when one is given) or explore it, check its properties, and answer in the
// shape the CLI prints and the UI shows (scenario-api.md, "Results").

import { DivergenceError, Execution, ScriptError, type ExecutionSpec, type Transition } from "./execution";
import { exploreExhaustive, type FoundViolation } from "./exhaustive";
import { checkAfterStep, checkAtEnd, type Properties, type Violation } from "./properties";
import { decodeSchedule, encodeSchedule } from "./schedule";
import { traceOf, pathOf, type Trace } from "./trace";

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
  /** Exhaustive search: turn on dynamic partial-order reduction (see exhaustive.ts). */
  por?: boolean;
  now?: () => number;
}

export interface ReportedViolation extends Violation {
  schedule: string;
  trace: Trace;
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

/** Runs one execution: along `path`, then the lowest-numbered enabled actor, to the end. */
export async function runOnce(spec: ExecutionSpec, props: Properties, path: Transition[], maxSteps = 10_000): Promise<{ exec: Execution; violation?: Violation; seen: Set<string> }> {
  const exec = new Execution(spec);
  const seen = new Set<string>();
  await exec.start();
  let v = checkAfterStep(exec, props, seen);
  for (let i = 0; !v && exec.steps.length < maxSteps; i++) {
    const en = exec.enabled();
    if (en.length === 0) break;
    let t: Transition;
    if (i < path.length) {
      t = path[i]!;
      if (!en.includes(t.actor)) {
        const who = exec.actors[t.actor]?.who.name ?? `actor ${t.actor}`;
        throw new DivergenceError(who, i, `${who} able to run`, `${who} ${exec.actors[t.actor] ? "blocked or finished" : "missing"} at step ${i + 1}`);
      }
    } else {
      t = { actor: en[0]! };
    }
    await exec.step(t);
    v = checkAfterStep(exec, props, seen);
  }
  if (!v && exec.enabled().length === 0) v = checkAtEnd(exec, props, seen);
  return { exec, violation: v, seen };
}

function reported(v: Violation, exec: Execution): ReportedViolation {
  const trace = traceOf(exec);
  return { invariant: v.invariant, message: v.message, schedule: trace.schedule, trace };
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

/** Re-runs a found violation to get its trace. */
async function withTrace(spec: ExecutionSpec, props: Properties, f: FoundViolation): Promise<ReportedViolation> {
  const { exec } = await runOnce(spec, props, f.path, f.path.length);
  const trace = traceOf(exec);
  return { invariant: f.invariant, message: f.message, schedule: encodeSchedule(f.path), trace };
}

export async function verify(spec: ExecutionSpec, props: Properties, opts: VerifyOptions): Promise<VerifyResult> {
  const mode = opts.mode;
  try {
    if (mode === "run") {
      const path = opts.schedule ? decodeSchedule(opts.schedule) : [];
      const { exec, violation, seen } = await runOnce(spec, props, path, opts.maxSteps);
      const trace = traceOf(exec);
      return {
        verdict: verdictOf(violation ? 1 : 0, props, seen), mode, executions: 1, complete: true,
        violations: violation ? [reported(violation, exec)] : [], sometimes: sometimesOf(props, seen), trace,
      };
    }
    if (mode === "explore") {
      const r = await exploreExhaustive(spec, props, {
        maxSteps: opts.maxSteps, maxStates: opts.maxStates, maxExecutions: opts.maxExecutions,
        maxSeconds: opts.maxSeconds, now: opts.now, por: opts.por,
      });
      const violations = [];
      for (const f of r.violations) violations.push(await withTrace(spec, props, f));
      return {
        verdict: verdictOf(violations.length, props, r.sometimesSeen), mode, executions: r.executions,
        complete: r.complete, states: r.states, transitions: r.transitions, collisionOdds: r.collisionOdds,
        stoppedBy: r.stoppedBy, violations, sometimes: sometimesOf(props, r.sometimesSeen),
      };
    }
    throw new Error(`mode ${mode} is not available yet`);
  } catch (e) {
    return errorResult(mode, e);
  }
}

export { pathOf };
