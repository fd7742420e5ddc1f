// The messages between the page and the sandbox worker. The page sends one
// job per worker (a fresh worker for every run or exploration, so nothing a
// script leaves behind survives it); the worker answers with progress,
// console lines, and one final message. Results travel as JSON text made in
// the worker: a script's values (functions, getters, cycles) can never make
// the page's structured clone throw or run code on the page.

import type { Config } from "../api/types";
import type { ConfigOverrides } from "../api/config";
import type { Mode } from "../sim/verify";
import type { SourcePosition } from "../api/load-scenario";

export interface JobBudgets {
  /** Steps per execution (verify's maxSteps). */
  maxSteps: number;
  /** Wall time the engine gives itself (explore, random, PCT); the page kills the worker a little after. */
  maxSeconds: number;
  /** Sampling: executions (random, PCT) or exhaustive: executions bound. */
  maxExecutions?: number;
}

export interface Job {
  type: "job";
  /** The scenario, already transpiled to CommonJS by the editor's TypeScript worker. */
  js: string;
  /** Its source map (JSON text), to give errors the line and column of the TypeScript. */
  sourceMap?: string;
  /** Configuration that wins over the scenario's own (the panel's switches); null: the scenario's. */
  overrides: ConfigOverrides | null;
  /**
   * "step": the reader is the scheduler; `schedule` is the path so far, and the answer says who may move next.
   * "compare": one schedule under two configurations (`overrides` is A, `compare.b` is B); without a
   * schedule, an exploration under A picks one (its counterexample, else A's plain run).
   */
  mode: Mode | "step" | "compare";
  compare?: { b: ConfigOverrides | null; labels: [string, string] };
  /** Step mode: after the path, move this actor until the tool call it is in returns (or it cannot move). */
  finishTool?: number;
  seed?: number;
  schedule?: string;
  budgets: JobBudgets;
}

/** A position in the user's TypeScript (1-based). */
export type { SourcePosition } from "../api/load-scenario";

export interface ConsoleLine {
  level: "log" | "info" | "warn" | "error" | "debug";
  text: string;
}

export type WorkerMessage =
  | { type: "ready" }
  /** The explorer is alive: its clock checks, counted (see docs/ui.md on what they approximate). */
  /** While exploring: the search's own counters (exact), read when it last looked at the clock. */
  | { type: "progress"; elapsedMs: number; clockChecks: number; states: number; transitions: number; executions: number }
  | { type: "console"; lines: ConsoleLine[] }
  /** The final answer: `result` is JSON text of a JobResult. */
  | { type: "done"; result: string };

/** The error of a scenario that could not be loaded or that failed while it ran. */
export interface JobError {
  message: string;
  /** Where in the user's TypeScript, when the stack says so. */
  position?: SourcePosition;
  actor?: string;
  step?: number;
  /** What went wrong: loading the file, its configuration, or the run. */
  phase: "load" | "config" | "run" | "internal";
}

export interface JobResult {
  /** The configuration the run used (the scenario's merged with the overrides). */
  config?: Config;
  title?: string;
  /** verify()'s answer, when the scenario got that far (its shape: VerifyResult). */
  verify?: import("../sim/verify").VerifyResult;
  error?: JobError;
  /** Step mode's answer. */
  step?: StepState;
  /** The world after each step of the trace on show (devices, xenstore, rings), for the views. */
  world?: import("./world-types").WorldFrames;
  /** How long recording it took. */
  worldMs?: number;
  /** The tool calls of the trace on show (sys.losetup.attach, ...) with their steps. */
  tools?: import("./tools").ToolCall[];
  /** Compare's answer. */
  compare?: import("./compare").CompareResult;
  /** Things the user should know about the run (for example that the views of the world could not be recorded). */
  notes: string[];
  /** Globals the sandbox removed before the script ran. */
  blocked: string[];
  elapsedMs: number;
}

/** A move other than an actor's plain step. */
export interface StepAlternative {
  label: string;
  transition: { actor: number; kill?: boolean; choices?: number[] };
}

/** Where step mode stands: the trace so far and, per actor, its next call or why it cannot move. */
export interface StepState {
  trace: import("../sim/trace").Trace;
  actors: {
    name: string;
    domain: string;
    enabled: boolean;
    next?: string;
    why?: string;
    /** The tool call the next step belongs to, and how many of its system calls were made already. */
    tool?: { name: string; args: string; done: number };
    /** Moves other than the plain step: other values of its choice points, its death. */
    alternatives?: StepAlternative[];
  }[];
  /** The path taken (a schedule token): the one asked for, or longer after "finish the tool call". */
  path?: string;
  /** Every actor has finished (or waits forever): the end checks ran. */
  finished: boolean;
  violation?: { invariant: string; message: string };
  /** The path could not be followed (the script changed since). */
  divergence?: string;
}
