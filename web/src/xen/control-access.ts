// Who may use Xen's control interfaces from a process: the one permission
// model of the toolstack (`xl`, through privcmd) and of xenstore (through
// the xenbus device or xenstored's socket). Every way in asks this file:
// `sys.xl` (userland/xl.ts) and `sys.xenstore` (syscalls.ts), and a shell's
// `xl` and `xenstore-*` commands later. Once a process is in, xenstored's
// own permissions (xenstore/perms.ts) decide what its domain may do.
//
//   interface   device a process opens                      refused
//   privcmd     /dev/xen/privcmd (libxencall)               not root: EACCES (open of a 0600 root node);
//                                                           root outside the control domain: EPERM (Xen)
//   xenbus      /dev/xen/xenbus, or in dom0                 not root: EACCES (open of a 0600 root node,
//               /var/run/xenstored/socket (libxenstore)     or of the root-only socket)
//
// Where it comes from:
// - The nodes are root's [M]: Linux creates /dev/xen/privcmd and
//   /dev/xen/xenbus as misc devices (drivers/xen/privcmd.c,
//   xenbus/xenbus_dev_frontend.c), 0600 root unless a udev rule says
//   otherwise; xenstored's socket is created 0600 [M]. An unprivileged
//   process of any domain, dom0 included, fails to open them: xl's
//   libxl_ctx_alloc ("cannot init xl context"), libxenstore's xs_open.
// - The privcmd driver loads in every Xen domain (it checks only
//   xen_domain()), so a guest's root can open it [M]; what stops it is Xen:
//   xl's first request, the domain list (XEN_SYSCTL_getdomaininfolist, then
//   domctls), goes through XSM, whose default policy
//   (xen/include/xsm/dummy.h, XSM_PRIV) allows it to the control domain
//   only and answers -EPERM to any other [V dummy.h's XSM_PRIV hook, M the
//   first hypercall]. A driver domain is no exception: its `xl devd` uses
//   xenstore only, on its own backend paths, which xenstored's permissions
//   already confine (libxl_device_events_handler).
// - The xenbus device of a guest's kernel talks to xenstored as that
//   guest (its domid), so a guest's root may use xenstore with the guest's
//   rights: its home, what others granted it [M].
// The model's control domain is dom0 (no disaggregated toolstack domain).

import { SysError, type StepContext } from "../sim/op";
import { isRoot } from "../linux/creds";
import type { Errno } from "../linux/errno";

/** A control interface of Xen a process may ask for. */
export type XenControl = "privcmd" | "xenbus";

/** The rule: the errno a process gets, or undefined when it may use the interface. */
export function controlRefusal(root: boolean, domid: number, what: XenControl): Errno | undefined {
  if (!root) return "EACCES";
  if (what === "privcmd" && domid !== 0) return "EPERM";
  return undefined;
}

function refusal(what: XenControl, errno: Errno): string {
  if (errno === "EPERM") return "Xen answers the toolstack's hypercalls only from the control domain (XSM_PRIV)";
  return what === "privcmd" ? "/dev/xen/privcmd is root's (0600)" : "/dev/xen/xenbus and xenstored's socket are root's (0600)";
}

/** Inside a step: throws the refusal for the calling process (its credentials, its domain `domid`). */
export function requireControl(ctx: StepContext, domid: number, what: XenControl): void {
  const errno = controlRefusal(isRoot(ctx), domid, what);
  if (errno !== undefined) throw new SysError(errno, refusal(what, errno));
}

/** For a guard, which runs without a step: whether the step would be refused (it is then enabled, to fail). */
export function controlRefused(ctx: StepContext, domid: number, what: XenControl): boolean {
  return controlRefusal(isRoot(ctx), domid, what) !== undefined;
}
