// Running a script of system calls against the kernel model: one actor in
// dom0 (plus the kernel's own threads), the default schedule, and the
// world afterwards. Errors come back as errno names, so a table of
// expectations reads like the kernel's.

import { errnoOf } from "../../web/src/sim/op";
import type { KernelId, PatchSelection, ScenarioDefinition, Sys } from "blocklab";
import { buildScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { Execution } from "../../web/src/sim/execution";
import { verify } from "../../web/src/sim/verify";

export type Files = ScenarioDefinition["files"];

/** The errno of a failed call, or "ok:<value>" of a successful one. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const v = await p;
    return `ok${v === undefined ? "" : `:${JSON.stringify(v)}`}`;
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === undefined) throw e;
    return errno;
  }
}

/** Runs `script` as the only user actor under the given kernel and patches; rethrows a script error. */
export async function runScript(kernel: KernelId, patches: PatchSelection, script: (sys: Sys) => Promise<void>, files: Files = {}) {
  const b = buildScenario({ files, actors: { t: script }, invariants: ["progress"] }, resolveConfig(kernel, patches));
  const r = await verify(b.spec, b.props, { mode: "run", maxSteps: 10_000 });
  if (r.verdict === "error") throw (r.error as { error?: unknown })?.error ?? r.error;
  return r;
}

/** A started Execution of a scenario, for tests that step by hand (kills, choice points). */
export async function started(def: ScenarioDefinition, kernel: KernelId = "linux-6.1", patches: PatchSelection = "none") {
  const b = buildScenario(def, resolveConfig(kernel, patches));
  const exec = new Execution(b.spec);
  await exec.start();
  return { b, exec };
}
