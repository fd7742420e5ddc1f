// From a scenario definition and a configuration to what the runtime runs:
// the execution spec (initial world, actors over Sys) and the properties to
// check. The definition is checked again here, since a scenario file may
// export a plain object without calling scenario().

import { DivergenceError, ScriptError, type ActorSpec, type ExecutionSpec } from "../sim/execution";
import { SysError } from "../sim/op";
import type { Invariant, Properties } from "../sim/properties";
import type { Store } from "../sim/store";
import { fileKey, isTextFile, type FileObject } from "../linux/files";
import { Machine, type InitialFile } from "./machine";
import { deviceViews } from "../linux/views";
import { setCredentials } from "../linux/creds";
import { stalePairViolation } from "../linux/pairs";
import { xsPeek } from "../xen/xenstore";
import { isolationViolation, leakViolation } from "../xen/invariants";
import { ringView } from "../xen/blkfront-raw";
import { BUILTIN_INVARIANTS, ScenarioError, parseSize, scenarioProblems } from "./scenario";
import { Diagnostics, makeProcess } from "./sys";
import type { ActorDefinition, ActorFunction, BuiltinInvariant, Config, DomainDefinition, ScenarioDefinition, WorldCheck, WorldView } from "./types";

export interface BuiltScenario {
  spec: ExecutionSpec;
  props: Properties;
  config: Config;
  /** dom0 is 0; guests 1, 2, ... in the order the scenario lists them. */
  domains: { name: string; domid: number }[];
  diagnostics: Diagnostics;
  /** The emulated machine the spec runs on (kernel configuration, data plane). */
  machine: Machine;
}

/** The read-only world a custom check sees; reads go through store.peek, never into a footprint. */
export function worldView(store: Store): WorldView {
  return {
    readFile: (domain, path) => {
      const f = store.peek<FileObject>(fileKey(domain, path));
      return f !== undefined && isTextFile(f) ? f.content : undefined;
    },
    exists: (domain, path) => store.peek(fileKey(domain, path)) !== undefined,
    xenstore: (path) => (typeof path === "string" ? xsPeek(store, path) : undefined),
    devices: (domain) => deviceViews(store, domain),
    ring: (domain, vdev) => ringView(store, domain, vdev),
  };
}

/** A check's answer as the runtime wants it: undefined when it holds, else a message. */
function verdictOf(c: WorldCheck, answer: unknown): string | undefined {
  if (answer === undefined || answer === true) return undefined;
  if (answer === false) return `${c.name} does not hold`;
  if (typeof answer === "string") return answer;
  return `${c.name} returned ${typeof answer}; a check returns a message (violated) or undefined (holds)`;
}

function toInvariant(c: WorldCheck, diag: Diagnostics, kind: string): Invariant {
  return {
    name: c.name,
    atEnd: c.atEnd ?? false,
    check: (exec) => {
      let answer: unknown;
      try {
        answer = c.check(worldView(exec.store));
      } catch (e) {
        const who = `${kind} "${c.name}"`;
        diag.scriptError = { actor: who, error: e };
        throw new ScriptError(who, e);
      }
      return verdictOf(c, answer);
    },
  };
}

export function buildScenario(def: ScenarioDefinition, config: Config): BuiltScenario {
  const problems = scenarioProblems(def);
  if (problems.length > 0) throw new ScenarioError(problems);
  const diagnostics = new Diagnostics();

  const domains = [{ name: "dom0", domid: 0 }, ...Object.keys(def.domains ?? {}).map((name, i) => ({ name, domid: i + 1 }))];

  const initialFiles: InitialFile[] = Object.entries(def.files ?? {}).map(([path, f]) => {
    const domain = f.domain ?? "dom0";
    if ("content" in f && f.content !== undefined) return { domain, path, file: { content: f.content } };
    const image = f as { size: unknown; owner?: string; fill?: number };
    const file: { size: number; owner?: string; fill?: number } = { size: parseSize(image.size) };
    if (image.owner !== undefined) file.owner = image.owner;
    if (image.fill !== undefined && image.fill !== 0) file.fill = image.fill;
    return { domain, path, file };
  });
  const driverDomains = Object.entries(def.domains ?? {}).filter(([, d]) => (d as DomainDefinition).backend === true).map(([name]) => name);
  const machine = new Machine(config, domains.map((x) => x.name), initialFiles, driverDomains);

  const userActors: ActorSpec[] = Object.entries(def.actors).map(([name, a]) => {
    const run: ActorFunction = typeof a === "function" ? a : a.run;
    const opts: Partial<ActorDefinition> = typeof a === "function" ? {} : a;
    return {
      name,
      domain: opts.domain ?? "dom0",
      daemon: opts.daemon ?? false,
      mayCrash: opts.mayCrash ?? false,
      body: async (ch, who) => {
        const proc = makeProcess(ch, who, machine);
        try {
          await run(proc.sys);
        } catch (e) {
          // A SysError ends the process as a failed syscall would (and the
          // kernel still closes its fds); anything else is a bug in the
          // script: keep it, with its stack, for the report.
          if (e instanceof SysError) await proc.exit();
          else if (!(e instanceof DivergenceError)) diagnostics.scriptError = { actor: who.name, error: e };
          throw e;
        }
        await proc.exit();
      },
    };
  });

  // Kernel threads come first: the default continuation of a run (the
  // lowest-index enabled actor) lets pending kernel work finish before the
  // next user step, the settled behaviour real runs show (docs/linux-model.md §7).
  // A driver domain's kernel runs whether or not a script of the scenario runs there (its blkback, its scripts).
  const actorDomains = new Set(["dom0", ...driverDomains, ...userActors.map((a) => a.domain)]);
  const kernelActors = domains.filter((x) => actorDomains.has(x.name)).flatMap((x) => machine.kernelActors(x.name));
  // Xen's kernel threads (xenwatch, blkback's ring thread) and dom0's hotplug runner, when there are guests.
  // A hotplug script is a process of the runner (fds are per actor): it runs alone, and its exit closes them.
  const xen = machine.xenActors((ch, who) => makeProcess(ch, who, machine));
  const unprivileged = Object.entries(def.actors).flatMap(([name, a]) =>
    typeof a !== "function" && a.privileged === false ? [{ domain: a.domain ?? "dom0", name }] : []);
  const spec: ExecutionSpec = {
    actors: [...kernelActors, ...xen, ...userActors],
    setup: (store) => {
      machine.boot(store);
      for (const p of unprivileged) setCredentials(store, p.domain, p.name, { root: false });
    },
    onKill: (ctx) => machine.onKill(ctx),
    external: machine,
  };

  const asked: BuiltinInvariant[] = [];
  const invariants: Invariant[] = [];
  for (const inv of def.invariants ?? BUILTIN_INVARIANTS) {
    if (typeof inv === "string") asked.push(inv);
    else invariants.push(toInvariant(inv, diagnostics, "invariant"));
  }
  const names = machine.domains;
  if (asked.includes("isolation")) invariants.push({ name: "isolation", atEnd: false, check: (exec) => isolationViolation(exec.store, names) });
  if (asked.includes("no-stale-open")) invariants.push({ name: "no-stale-open", atEnd: false, check: (exec) => stalePairViolation(exec.store) });
  if (asked.includes("no-leak")) invariants.push({ name: "no-leak", atEnd: true, check: (exec) => leakViolation(exec.store, names, machine.backends) });
  const props: Properties = {
    invariants,
    sometimes: (def.sometimes ?? []).map((s) => toInvariant(s, diagnostics, "sometimes")),
    deadlock: asked.includes("progress"),
  };
  return { spec, props, config, domains, diagnostics, machine };
}
