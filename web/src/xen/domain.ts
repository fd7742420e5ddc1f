// Domains as the hypervisor and xenstored see them: dom0 plus the
// scenario's guests (domids 1, 2, ... in scenario order), each with its
// grant table and memory in the data plane.
//
//   "xendom:<domid>"  { name, state }
//
//   running ──shutdown──▶ shutdown ──destroy──▶ destroyed
//      └───────────────destroy───────────────────┘
//
// - create (a domain not running): the data plane's domain (grant table,
//   guest pages), the home xenstore nodes libxl writes, @introduceDomain.
// - shutdown (the guest stopped or asked to stop): @releaseDomain
//   (xenstored's domain_cleanup sees the shutdown flag) [M].
// - destroy: its event channels close, its grant table and memory go (the
//   data plane keeps a domain "dying" while others still map its grants),
//   xenstored drops what it owned (nodes, watches, transactions), and
//   @releaseDomain fires again (destroy_domain) [V domain.c].
//
// Every guest of a scenario is running when the scenario starts. Domids are
// never reused. There is no hypervisor scheduling: a domain's vCPUs are its
// actors, run when the explorer picks them.

import type { DataPlane } from "../core/data-plane";
import { SysError, type StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { evtchnCloseAll } from "./evtchn";
import { domainNodes, xsBoot, xsDomainGone, xsFireSpecial, xsMkdir, xsSetPerms, xsWrite } from "./xenstore";

export type XenDomainState = "running" | "shutdown" | "destroyed";

export interface XenDomain {
  name: string;
  state: XenDomainState;
  /** Why it shut down ("poweroff", "crash", ...), once it has. */
  reason?: string;
}

export const domainKey = (domid: number): string => `xendom:${domid}`;

/** Each domain gets the data plane's default memory and grant table (1024 pages, 4 grant frames). */

export function domainGet(store: Store, domid: number): XenDomain | undefined {
  return store.get<XenDomain>(domainKey(domid));
}

/** Whether a domain exists and has not been destroyed (a shut-down domain still exists until destroyed). */
export function domainAlive(store: Store, domid: number): boolean {
  const d = store.get<XenDomain>(domainKey(domid));
  return d !== undefined && d.state !== "destroyed";
}

export function domainRunning(store: Store, domid: number): boolean {
  return store.get<XenDomain>(domainKey(domid))?.state === "running";
}

/** The world at start (outside any step): every domain running, the xenstore tree, the data plane's domains. */
export function xenBoot(store: Store, dp: DataPlane | null, domains: readonly { name: string; domid: number }[]): void {
  for (const d of domains) {
    store.set(domainKey(d.domid), { name: d.name, state: "running" } satisfies XenDomain);
    if (dp && dp.domainState(d.domid) === "free") dp.createDomain(d.domid);
  }
  xsBoot(store, domains);
}

function fail(errno: string, message: string): never {
  throw new SysError(errno, message);
}

/** Builds a domain that is not running (a new domid, or never started): what `xl create` asks of Xen, then libxl's nodes. */
export function domainCreate(ctx: StepContext, dp: DataPlane | null, domid: number, name: string): void {
  const d = domainGet(ctx.store, domid);
  if (d && d.state !== "destroyed") fail("EEXIST", `domain ${domid} (${d.name}) exists`);
  if (d) fail("EEXIST", `domid ${domid} was used by a destroyed domain; domids are not reused`);
  if (dp) dp.createDomain(domid);
  ctx.store.set(domainKey(domid), { name, state: "running" } satisfies XenDomain);
  for (const [path, value, perms] of domainNodes(domid, name)) {
    if (value === "") xsMkdir(ctx, 0, path);
    else xsWrite(ctx, 0, path, value);
    xsSetPerms(ctx, 0, path, perms);
  }
  xsFireSpecial(ctx, "@introduceDomain");
}

/** The domain stopped running (SCHEDOP_shutdown, or the toolstack's request honoured): @releaseDomain. */
export function domainShutdown(ctx: StepContext, domid: number, reason = "poweroff"): void {
  const d = domainGet(ctx.store, domid);
  if (!d || d.state === "destroyed") fail("ESRCH", `no domain ${domid}`);
  if (domid === 0) fail("EINVAL", "dom0 does not shut down in a scenario");
  if (d.state === "shutdown") return;
  ctx.store.set(domainKey(domid), { ...d, state: "shutdown", reason } satisfies XenDomain);
  xsFireSpecial(ctx, "@releaseDomain");
}

/** XEN_DOMCTL_destroydomain and xenstored's cleanup. */
export function domainDestroy(ctx: StepContext, dp: DataPlane | null, domid: number): void {
  const d = domainGet(ctx.store, domid);
  if (!d || d.state === "destroyed") fail("ESRCH", `no domain ${domid}`);
  if (domid === 0) fail("EINVAL", "dom0 cannot be destroyed");
  evtchnCloseAll(ctx, domid);
  if (dp && dp.domainState(domid) === "live") dp.destroyDomain(domid);
  ctx.store.set(domainKey(domid), { ...d, state: "destroyed" } satisfies XenDomain);
  xsDomainGone(ctx, domid);
  xsFireSpecial(ctx, "@releaseDomain");
}
