// The one front door to a scenario, for the CLI and the sandbox alike: its
// code evaluated, its definition checked, its configuration resolved, the
// whole built; or the first problem found, in the same words wherever it
// runs. What differs between Node and the sandbox worker (how code is
// evaluated, how a stack maps back to the user's file) the caller hands in
// as a ScenarioCode; the rest is here, once.

import { buildScenario, type BuiltScenario } from "./build";
import { ConfigError, resolveConfig, type ConfigOverrides } from "./config";
import { thrownText } from "../sim/format-value";
import { ScenarioError, scenarioProblems } from "./scenario";
import type { Config, ScenarioDefinition } from "./types";
import { decodeSchedule, ScheduleSyntaxError } from "../sim/schedule";
import type { VerifyResult } from "../sim/verify";

/** A place in the user's file (1-based), as the editor and `FILE:LINE:COL` give it. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A scenario's code in one environment. */
export interface ScenarioCode {
  /** Runs the code and returns its exports; throws what the code throws. */
  evaluate(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Where a stack's first frame inside the user's file is. */
  locate(stack: string | undefined): SourcePosition | undefined;
  /**
   * The environment's own account of an error evaluate threw, when it has
   * one (the CLI's transform reports a syntax error with its place);
   * undefined for what the code itself threw.
   */
  explain?(error: unknown): ScenarioProblem | undefined;
}

export interface ScenarioProblem {
  /** load: the code or its definition; config: a configuration; schedule: the schedule asked for. */
  phase: "load" | "config" | "schedule";
  /**
   * A configuration problem in the caller's own settings (its flags, its
   * panel), which the caller names: the message is the configuration's own.
   */
  inOverrides?: boolean;
  message: string;
  position?: SourcePosition;
}

export interface LoadOptions {
  /** The caller's configuration, over the scenario's own. */
  overrides?: ConfigOverrides;
  /** A schedule to follow: it must move only actors the scenario has. */
  schedule?: string;
  /** The definition as it should be built (the sandbox watches tool calls through a wrapper). */
  prepare?(def: ScenarioDefinition): ScenarioDefinition;
}

export interface LoadedScenario {
  /** The definition the file exported, checked. */
  def: ScenarioDefinition;
  config: Config;
  built: BuiltScenario;
}

export type LoadResult =
  | ({ ok: true } & LoadedScenario)
  /** With what was settled before the problem: the definition (well formed), the configuration. */
  | { ok: false; problem: ScenarioProblem; def?: ScenarioDefinition; config?: Config };

export const NO_DEFAULT_EXPORT = "no default export: end the file with `export default scenario({ ... })`";

/** The stack of what was thrown, if it has one (read with care: a script made it). */
function stackOf(e: unknown): string | undefined {
  try {
    const stack = (e as { stack?: unknown } | null)?.stack;
    return typeof stack === "string" ? stack : undefined;
  } catch {
    return undefined;
  }
}

/** Where what the scenario's code threw points in the user's file, when its stack says so. */
export function locateThrown(code: Pick<ScenarioCode, "locate">, e: unknown): SourcePosition | undefined {
  return code.locate(stackOf(e));
}

/** A problem with what the code threw: its message, and its place when the stack has one. */
function thrownProblem(code: ScenarioCode, e: unknown): ScenarioProblem {
  const position = locateThrown(code, e);
  return { phase: "load", message: thrownText(e), ...(position ? { position } : {}) };
}

/** The environment's account of an error, if it has one; reading what a script threw may throw again. */
function explained(code: ScenarioCode, e: unknown): ScenarioProblem | undefined {
  try {
    return code.explain?.(e);
  } catch {
    return undefined;
  }
}

/** Evaluates, checks, configures and builds a scenario; the first problem found ends it. */
export async function loadScenario(code: ScenarioCode, options: LoadOptions = {}): Promise<LoadResult> {
  let exports: Record<string, unknown>;
  try {
    exports = await code.evaluate();
  } catch (e) {
    return { ok: false, problem: explained(code, e) ?? thrownProblem(code, e) };
  }
  let def: unknown;
  try {
    def = (exports as Record<string, unknown> | null | undefined)?.default;
  } catch (e) {
    // A getter on the exports (CommonJS lets a script replace them) threw.
    return { ok: false, problem: thrownProblem(code, e) };
  }
  if (def === undefined) return { ok: false, problem: { phase: "load", message: NO_DEFAULT_EXPORT } };
  let problems: string[];
  try {
    problems = scenarioProblems(def);
  } catch (e) {
    // The definition's own code ran (a getter) and threw.
    return { ok: false, problem: thrownProblem(code, e) };
  }
  if (problems.length > 0) return { ok: false, problem: { phase: "load", message: new ScenarioError(problems).message } };
  const checked = def as ScenarioDefinition;

  let config: Config;
  try {
    config = resolveConfig(checked.kernel, checked.patches, options.overrides ?? {});
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const problem: ScenarioProblem = e.source === "overrides"
      ? { phase: "config", inOverrides: true, message: e.message }
      : { phase: "config", message: `the scenario's configuration: ${e.message}` };
    return { ok: false, problem, def: checked };
  }
  const built = buildScenario(options.prepare ? options.prepare(checked) : checked, config);
  if (options.schedule !== undefined) {
    const message = scheduleProblem(options.schedule, built.spec.actors.length);
    if (message !== undefined) return { ok: false, problem: { phase: "schedule", message }, def: checked, config };
  }
  return { ok: true, def: checked, config, built };
}

/** Why `schedule` cannot drive a scenario of `actors` actors, or undefined when it can. */
export function scheduleProblem(schedule: string, actors: number): string | undefined {
  let path;
  try {
    path = decodeSchedule(schedule);
  } catch (e) {
    if (e instanceof ScheduleSyntaxError) return `schedule: ${e.message}`;
    throw e;
  }
  const bad = path.find((t) => t.actor >= actors);
  if (bad === undefined) return undefined;
  return `the schedule moves actor ${bad.actor}, but the scenario has ${actors} actor${actors === 1 ? "" : "s"} (0 to ${actors - 1}): it was made for another scenario`;
}

/** The error a run ended with (verify's), placed in the user's file. */
export interface RunProblem {
  message: string;
  position?: SourcePosition;
  actor?: string;
  step?: number;
}

/**
 * A run's error with its place: the stack of the script error the build
 * kept (when it is the failing actor's), else the stack the result carries.
 */
export function runProblem(built: BuiltScenario, error: NonNullable<VerifyResult["error"]>, code: Pick<ScenarioCode, "locate">): RunProblem {
  const se = built.diagnostics.scriptError;
  const thrown = se && (error.actor === undefined || se.actor === error.actor) ? se.error : undefined;
  const position = locateThrown(code, thrown) ?? code.locate(error.stack);
  return {
    message: error.message,
    ...(position ? { position } : {}),
    ...(error.actor !== undefined ? { actor: error.actor } : {}),
    ...(error.step !== undefined ? { step: error.step } : {}),
  };
}
