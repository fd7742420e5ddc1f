// The Xen side of a run, for the composition root (web/src/api/machine.ts)
// to add to a scenario: the kernel threads of every domain (xenwatch,
// blkback's ring threads) and what the drivers register at boot. The
// toolstack's own daemons (the hotplug runners) are userland.

import type { ActorSpec } from "../sim/execution";
import type { Store } from "../sim/store";
import type { XenKernel } from "./xen-kernel";
import { xenKernelActors, xenKernelBoot } from "./xenwatch";

/** Whether the run has Xen guests at all (a scenario with dom0 alone gets no Xen threads). */
export function hasGuests(k: XenKernel): boolean {
  return k.domains.length > 1;
}

/** What the drivers of every domain register at boot (after the domains and xenstored's tree exist). */
export function xenDriversBoot(store: Store, k: XenKernel): void {
  if (!hasGuests(k)) return;
  k.domains.forEach((d, domid) => xenKernelBoot(store, k, domid, d));
}

/** Each domain's Xen kernel threads, by domid. */
export function xenKernelThreads(k: XenKernel): ActorSpec[] {
  if (!hasGuests(k)) return [];
  return k.domains.flatMap((_, domid) => xenKernelActors(k, domid));
}
