// The hypervisor's domain control operations (XEN_DOMCTL_createdomain,
// SCHEDOP_shutdown, XEN_DOMCTL_destroydomain) with what xenstored does
// about each, and the domains at boot. The domain object and its states
// are in domain.ts; a destroy closes the domain's event channels
// (evtchn.ts), its grant table and memory (the data plane) and what it
// owned in xenstore.

import type { DataPlane } from "../core/data-plane";
import { SysError, type StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import type { Errno } from "../linux/errno";
import { domainGet, XEN_DOMAIN } from "./domain";
import { evtchnCloseAll } from "./evtchn";
import { domainNodes, xsBoot, xsDomainGone, xsFireSpecial, xsMkdir, xsSetPerms, xsWrite } from "./xenstore";

/** The world at start (outside any step): every domain running, the xenstore tree, the data plane's domains. */
export function xenBoot(store: Store, dp: DataPlane | null, domains: readonly { name: string; domid: number }[]): void {
  for (const d of domains) {
    XEN_DOMAIN.set(store, XEN_DOMAIN.key(d.domid), { name: d.name, state: "running" });
    if (dp && dp.domainState(d.domid) === "free") dp.createDomain(d.domid);
  }
  xsBoot(store, domains);
}

function fail(errno: Errno, message: string): never {
  throw new SysError(errno, message);
}

/** Builds a domain that is not running (a new domid, or never started): what `xl create` asks of Xen, then libxl's nodes. */
export function domainCreate(ctx: StepContext, dp: DataPlane | null, domid: number, name: string): void {
  const d = domainGet(ctx.store, domid);
  if (d && d.state !== "destroyed") fail("EEXIST", `domain ${domid} (${d.name}) exists`);
  if (d) fail("EEXIST", `domid ${domid} was used by a destroyed domain; domids are not reused`);
  if (dp) dp.createDomain(domid);
  XEN_DOMAIN.set(ctx.store, XEN_DOMAIN.key(domid), { name, state: "running" });
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
  XEN_DOMAIN.update(ctx.store, XEN_DOMAIN.key(domid), d, { state: "shutdown", reason });
  xsFireSpecial(ctx, "@releaseDomain");
}

/** XEN_DOMCTL_destroydomain and xenstored's cleanup. */
export function domainDestroy(ctx: StepContext, dp: DataPlane | null, domid: number): void {
  const d = domainGet(ctx.store, domid);
  if (!d || d.state === "destroyed") fail("ESRCH", `no domain ${domid}`);
  if (domid === 0) fail("EINVAL", "dom0 cannot be destroyed");
  evtchnCloseAll(ctx, domid);
  if (dp && dp.domainState(domid) === "live") dp.destroyDomain(domid);
  XEN_DOMAIN.update(ctx.store, XEN_DOMAIN.key(domid), d, { state: "destroyed" });
  xsDomainGone(ctx, domid);
  xsFireSpecial(ctx, "@releaseDomain");
}
