// Domains as the hypervisor and xenstored see them: dom0 plus the
// scenario's guests (domids 1, 2, ... in scenario order), each with its
// grant table and memory in the data plane.
//
//   "xendom:<domid>"  { name, state }
//
//   running ──shutdown──▶ shutdown ──destroy──▶ destroyed
//      └───────────────destroy───────────────────┘
//
// The transitions are the hypervisor's domain control operations (domctl.ts):
// - create (a domain not running): the data plane's domain (grant table,
//   guest pages), the home xenstore nodes libxl writes, @introduceDomain.
// - shutdown (the guest stopped or asked to stop): @releaseDomain
//   (xenstored's domain_cleanup sees the shutdown flag) [M].
// - destroy: its event channels close, its grant table and memory go (the
//   data plane keeps a domain "dying" while others still map its grants),
//   xenstored drops what it owned (nodes, watches, transactions), and
//   @releaseDomain fires again (destroy_domain) [V domain.c].
//
// Each domain gets the data plane's default memory and grant table (1024
// pages, 4 grant frames). Every guest of a scenario is running when the
// scenario starts. Domids are
// never reused. There is no hypervisor scheduling: a domain's vCPUs are its
// actors, run when the explorer picks them.

import { declareKind } from "../sim/object-kind";
import type { Store } from "../sim/store";

export type XenDomainState = "running" | "shutdown" | "destroyed";

export interface XenDomain {
  name: string;
  state: XenDomainState;
  /** Why it shut down ("poweroff", "crash", ...), once it has. */
  reason?: string;
}

export const XEN_DOMAIN = declareKind<XenDomain, [domid: number]>("xendom", (domid) => String(domid));

export function domainGet(store: Store, domid: number): XenDomain | undefined {
  return XEN_DOMAIN.get(store, XEN_DOMAIN.key(domid));
}

/** Whether a domain exists and has not been destroyed (a shut-down domain still exists until destroyed). */
export function domainAlive(store: Store, domid: number): boolean {
  const d = XEN_DOMAIN.get(store, XEN_DOMAIN.key(domid));
  return d !== undefined && d.state !== "destroyed";
}

export function domainRunning(store: Store, domid: number): boolean {
  return XEN_DOMAIN.get(store, XEN_DOMAIN.key(domid))?.state === "running";
}
