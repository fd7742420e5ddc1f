// A domain's kernel side of Xen as daemon actors: the xenwatch thread,
// which runs one watch callback per step (blkback's and blkfront's xenbus
// handlers, the shutdown watch), and the blkback ring threads
// (xen_blkif_schedule), which serve notified rings and complete their
// bios. Also the kernel's xenstore connection (XsConn over the xenstore
// model) and what a domain's kernel registers at boot.

import { daemonLoop } from "../sim/actor";
import type { ActorSpec } from "../sim/execution";
import type { Op, StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { xsWatchStep, type WatchEvent } from "./xenstore";
import { kernelXs } from "./xenstore/kernel-conn";
import { XS_WATCH } from "./xenstore/watch";
import { blkbackBackendChanged, blkbackBusChanged, blkbackFrontendChanged, ringStep, ringWork } from "./blkback";
import { blkfrontBackendChanged, blkfrontBusChanged, guestShutdownRequested } from "./blkfront";
import { busToken, decodeToken, type WatchCallback } from "./watch-tokens";
import { isBackend, type XenKernel } from "./xen-kernel";
import type { XsConn } from "./xs-conn";

export const kernelConn = (d: string): string => `kernel@${d}`;
export const xenwatchQueue = (d: string): string => `xenwatch@${d}`;

/** The kernel's xenstore connection in domain `domid`, inside a step; its watches deliver to xenwatch. */
export function kernelConnOf(ctx: StepContext, k: XenKernel, domid: number): XsConn {
  const d = k.domains[domid]!;
  const xs = kernelXs(ctx, domid, kernelConn(d), xenwatchQueue(d));
  // Only the watch a caller asks it for drops events while one is pending (Linux's will_handle).
  return { ...xs, watch: (path, token, opts) => { xs.watch(path, token, opts?.dropWhilePending ? { dropWhilePending: true } : undefined); }, unwatch: (path, token) => { xs.unwatch(path, token); } };
}

/** A watch callback: `subject` is the device's nodename for a device watch, the event's path for a bus watch. */
type WatchHandler = (ctx: StepContext, k: XenKernel, xs: XsConn, subject: string) => void;

/** Every callback a token can name (watch-tokens.ts), with its handler. */
const HANDLERS: Record<WatchCallback, WatchHandler> = {
  blkbackBus: blkbackBusChanged,
  blkbackPhysicalDevice: blkbackBackendChanged,
  blkbackOtherend: blkbackFrontendChanged,
  blkfrontBus: blkfrontBusChanged,
  blkfrontBackend: blkfrontBackendChanged,
  guestShutdown: guestShutdownRequested,
};

/** One watch callback, dispatched by its token. */
function dispatch(ctx: StepContext, k: XenKernel, domid: number, ev: WatchEvent): void {
  const xs = kernelConnOf(ctx, k, domid);
  const cb = decodeToken(ev.token, ev.path);
  if (cb) HANDLERS[cb.callback](ctx, k, xs, cb.subject);
}

/**
 * The watches a kernel holds from boot: blkback's on its backend/vbd tree
 * (dom0, a driver domain); a guest's blkfront on its device/vbd tree and
 * the shutdown control node (a driver domain is a guest too). Their first
 * firing happened during boot, so nothing is queued.
 */
export function xenKernelBoot(store: Store, k: XenKernel, domid: number, d: string): void {
  const watches: [string, string][] = [
    ...(isBackend(k, domid) ? [[`/local/domain/${domid}/backend/vbd`, busToken("blkbackBus")] as [string, string]] : []),
    ...(domid !== 0 ? [[`/local/domain/${domid}/device/vbd`, busToken("blkfrontBus")], [`/local/domain/${domid}/control/shutdown`, busToken("guestShutdown")]] as [string, string][] : []),
  ];
  for (const [path, token] of watches) {
    const key = XS_WATCH.key(path);
    const list = XS_WATCH.get(store, key) ?? [];
    // Linux sets no will_handle on the bus watches (be_watch, fe_watch) and delivers every event;
    // here they coalesce while one is pending, a reduction of the model (not Linux's filter): the
    // handler rescans every device of the bus, so one delivery does what the dropped ones would
    // (docs/xen-model.md, "A bus-watch delivery rescans"; delivering each costs >10× the states).
    XS_WATCH.set(store, key, [...list, { conn: kernelConn(d), domid, token, queue: xenwatchQueue(d), prefix: 0, dropWhilePending: true }]);
  }
}

/** The Xen kernel threads of domain `d`: xenwatch, and for a backend domain (dom0, a driver domain) blkback's ring threads. */
export function xenKernelActors(k: XenKernel, domid: number): ActorSpec[] {
  const d = k.domains[domid]!;
  const suffix = domid === 0 ? "" : `@${d}`;
  const actors: ActorSpec[] = [
    { name: `kernel:xenwatch${suffix}`, domain: d, daemon: true, body: daemonLoop(() => xsWatchStep(xenwatchQueue(d), (ctx, ev) => dispatch(ctx, k, domid, ev), "xenwatch")) },
  ];
  if (isBackend(k, domid)) {
    // Linux runs one ring thread per ring (xen_blkif_schedule); here one per guest: two guests' batches
    // never wait for each other, and a guest's thread reads no other guest's ring objects.
    k.domains.forEach((_, f) => {
      if (f === 0 || f === domid) return;
      actors.push({
        name: `kernel:blkback.${f}${suffix}`, domain: d, daemon: true, body: daemonLoop((): Op<void> => ({
          call: "blkback ring",
          args: [],
          waitingFor: "a notified ring or bios in flight",
          ready: (store) => ringWork(store, domid, f).length > 0,
          run: (ctx) => ringStep(ctx, k, domid, f),
        })),
      });
    });
  }
  return actors;
}
