// The trace of an execution as a stable, versioned JSON document: what the
// UI's timeline shows, what the CLI prints with --json, and what a replay
// in another engine must reproduce byte for byte. Keys are written in a
// fixed order and sets are sorted, so equal executions give equal text.

import type { Execution, StepRecord, Transition } from "./execution";
import { SysError } from "./op";
import { encodeSchedule } from "./schedule";

export const TRACE_FORMAT = "blocklab-trace";
export const TRACE_VERSION = 1;

export interface TraceStep {
  step: number;
  actor: string;
  domain: string;
  call: string;
  args: unknown[];
  /** Present when the call returned. */
  result?: unknown;
  /** The kernel's errno name when it failed, with its message. */
  errno?: string;
  message?: string;
  reads: string[];
  writes: string[];
  choices: { name: string; options: number; value: number }[];
  events: unknown[];
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  /** Each actor, and how it stands at the end of the trace ("parked" if it waits or was cut short). */
  actors: { name: string; domain: string; status: string; errno?: string }[];
  schedule: string;
  steps: TraceStep[];
}

export function traceStep(exec: Execution, rec: StepRecord): TraceStep {
  const who = exec.actors[rec.actor]!.who;
  // Keys in this order, always: the text of a trace must not depend on the engine.
  return {
    step: rec.step,
    actor: who.name,
    domain: who.domain,
    call: rec.call,
    args: [...rec.args],
    ...(rec.outcome.ok ? { result: rec.outcome.value ?? null } : { errno: rec.outcome.error.errno, message: rec.outcome.error.message }),
    reads: [...rec.footprint.reads].sort(),
    writes: [...rec.footprint.writes].sort(),
    choices: rec.choicePoints.map((c) => ({ name: c.name, options: c.options, value: c.value })),
    events: rec.events,
  };
}

/** The transitions an execution took, for its schedule token. */
export function pathOf(steps: readonly StepRecord[]): Transition[] {
  return steps.map((s) => {
    const t: Transition = { actor: s.actor };
    if (s.call === "<killed>") t.kill = true;
    const values = s.choicePoints.map((c) => c.value);
    while (values.length > 0 && values[values.length - 1] === 0) values.pop();
    if (values.length > 0) t.choices = values;
    return t;
  });
}

export function traceOf(exec: Execution): Trace {
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    actors: exec.actors.map((a) => {
      const err = a.error;
      return { name: a.who.name, domain: a.who.domain, status: a.status, ...(err instanceof SysError ? { errno: err.errno } : {}) };
    }),
    schedule: encodeSchedule(pathOf(exec.steps)),
    steps: exec.steps.map((s) => traceStep(exec, s)),
  };
}

/** The JSON text of a trace: equal executions give equal text, in any engine. */
export function traceText(trace: Trace): string {
  return JSON.stringify(trace, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v));
}
