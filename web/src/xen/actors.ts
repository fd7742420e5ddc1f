// The Xen side of a run, for the API layer to add to a scenario: the kernel
// threads of every domain (xenwatch, blkback's ring thread), dom0's hotplug
// runner, what the drivers register at boot, and the run's table of
// scenario-given hotplug functions.

import type { Channel } from "../sim/actor";
import type { ActorSpec } from "../sim/execution";
import type { Who } from "../sim/op";
import type { Store } from "../sim/store";
import { hotplugRunner, type ScriptProcess, type ScriptTable } from "./toolstack/hotplug";
import type { XenKernel } from "./xen-kernel";
import { xenKernelActors, xenKernelBoot } from "./xenwatch";

const tables = new WeakMap<object, ScriptTable>();

/** The hotplug functions given in this run (keyed by the machine the run uses). */
export function scriptTable(machine: object): ScriptTable {
  let t = tables.get(machine);
  if (!t) tables.set(machine, (t = new Map()));
  return t;
}

/** Whether the run has Xen guests at all (a scenario with dom0 alone gets no Xen threads). */
export function hasGuests(k: XenKernel): boolean {
  return k.domains.length > 1;
}

/** What the drivers of every domain register at boot (after the domains and xenstored's tree exist). */
export function xenDriversBoot(store: Store, k: XenKernel): void {
  if (!hasGuests(k)) return;
  k.domains.forEach((d, domid) => xenKernelBoot(store, k, domid, d));
}

/** The Xen daemons: each domain's kernel threads, then the hotplug runners of dom0 and of each driver domain. */
export function xenActors(k: XenKernel, spawn: (ch: Channel, who: Who, name: string) => ScriptProcess): ActorSpec[] {
  if (!hasGuests(k)) return [];
  const runners = [...k.backends].sort((a, b) => a - b).map((b) => hotplugRunner(scriptTable(k), spawn, b, k.domains[b]!));
  return [...k.domains.flatMap((_, domid) => xenKernelActors(k, domid)), ...runners];
}
