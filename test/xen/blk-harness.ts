// Running a Xen scenario by hand: the default schedule (the lowest-index
// enabled actor) except for actors a test holds back while a condition is
// true, and a look at the world after every step. For tests that need one
// particular interleaving (a detach while bios are in flight) without
// exploring them all.

import { errnoOf } from "../../web/src/sim/op";
import type { KernelId, PatchSelection, ScenarioDefinition } from "blocklab";
import { buildScenario, type BuiltScenario } from "../../web/src/api/build";
import { resolveConfig } from "../../web/src/api/config";
import { Execution, type StepRecord } from "../../web/src/sim/execution";
import type { Store } from "../../web/src/sim/store";
import { xsPeek } from "../../web/src/xen/xenstore";

export const FE = "/local/domain/1/device/vbd/51712";
export const BE = "/local/domain/0/backend/vbd/1/51712";
export const LIBXL = "/libxl/1/device/vbd/51712";

export interface DriveOptions {
  kernel?: KernelId;
  patches?: PatchSelection;
  /** Actor names not to run while `hold(store)` is true (unless nothing else can run). */
  hold?: { actor: string; while: (store: Store) => boolean }[];
  /** Called after every step with the step and the world. */
  onStep?: (rec: StepRecord, exec: Execution) => void;
  maxSteps?: number;
}

export interface Driven {
  b: BuiltScenario;
  exec: Execution;
  /** "actor call" per step. */
  calls: string[];
  /** Actors that ended with an error: name → errno. */
  errors: Record<string, string>;
}

export async function drive(def: ScenarioDefinition, opts: DriveOptions = {}): Promise<Driven> {
  const b = buildScenario(def, resolveConfig(opts.kernel ?? "linux-6.1", opts.patches ?? "none"));
  const exec = new Execution(b.spec);
  await exec.start();
  const names = exec.actors.map((a) => a.who.name);
  const calls: string[] = [];
  for (let n = 0; n < (opts.maxSteps ?? 2000); n++) {
    const enabled = exec.enabled();
    if (enabled.length === 0) break;
    const held = (i: number) => (opts.hold ?? []).some((h) => h.actor === names[i] && h.while(exec.store));
    const pick = enabled.find((i) => !held(i)) ?? enabled[0]!;
    const rec = await exec.step({ actor: pick });
    calls.push(`${names[pick]} ${rec.call}`);
    opts.onStep?.(rec, exec);
  }
  const errors: Record<string, string> = {};
  for (const a of exec.actors) if (a.status === "failed") errors[a.who.name] = errnoOf(a.error) ?? String(a.error);
  return { b, exec, calls, errors };
}

/** The distinct successive values a xenstore node took, as seen after each step (undefined: missing). */
export function tracker(paths: string[]) {
  const seen: Record<string, (string | undefined)[]> = Object.fromEntries(paths.map((p) => [p, []]));
  return {
    seen,
    onStep: (_: StepRecord, exec: Execution) => {
      for (const p of paths) {
        const v = xsPeek(exec.store, p);
        const list = seen[p]!;
        if (list.length === 0 || list[list.length - 1] !== v) list.push(v);
      }
    },
  };
}

export { xsPeek };
