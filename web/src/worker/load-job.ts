// A job's scenario through the front door (api/load-scenario.ts), with its
// problems as the page shows them. Apart from the worker's entry so that
// the same load can be checked from Node against the CLI's.

import { loadScenario, type LoadedScenario, type LoadOptions, type ScenarioCode, type ScenarioProblem } from "../api/load-scenario";
import type { Config } from "../api/types";
import { sandboxCode } from "./evaluate";
import type { Job, JobError } from "./protocol";

export type LoadedJob =
  | { ok: true; scenario: LoadedScenario; code: ScenarioCode }
  /** With the title and configuration when they were settled before the problem. */
  | { ok: false; error: JobError; title?: string; config?: Config };

/** A front-door problem as a job's error: the panel names its own settings; a schedule is part of the run's configuration. */
export function jobError(p: ScenarioProblem): JobError {
  if (p.phase === "load") return { phase: "load", message: p.message, ...(p.position ? { position: p.position } : {}) };
  return { phase: "config", message: p.inOverrides ? `the configuration panel: ${p.message}` : p.message };
}

/** Evaluates, checks, configures and builds the job's scenario. */
export async function loadJob(job: Pick<Job, "js" | "sourceMap" | "overrides" | "schedule">, prepare?: LoadOptions["prepare"]): Promise<LoadedJob> {
  const code = sandboxCode(job.js, job.sourceMap);
  const r = await loadScenario(code, { overrides: job.overrides ?? {}, schedule: job.schedule, prepare });
  if (r.ok) return { ok: true, scenario: r, code };
  return { ok: false, error: jobError(r.problem), ...(typeof r.def?.title === "string" ? { title: r.def.title } : {}), ...(r.config ? { config: r.config } : {}) };
}
