// Linux xen-blkback's xenbus side (drivers/block/xen-blkback/xenbus.c) as
// handlers run by the backend domain's xenwatch thread, one watch delivery
// per step. The protocol: docs/xen-protocol.md, "Attaching a disk",
// "Detaching a disk", "Guest-initiated close" and "blkback's diskseq check
// and `opened`".
//
//        toolstack writes backend dir, state 1
//                      |  (bus watch on backend/vbd)
//                      v
//   probe: feature keys, watch physical-device, [opened = "0"], InitWait (2)
//                      |
//        +-------------+------------------------------+
//        | physical-device watch                      | frontend state watch (3 or 4)
//        v                                            v
//   backend_changed: parse, [diskseq],           frontend_changed: read ring-ref,
//   open by dev_t (ro for mode r),               event-channel, protocol; check the
//   [check diskseq: ENODEV], [opened = "1"]      ring grant maps (connect_ring)
//        |                                            |
//        +------------> connect when both <-----------+
//                      (feature and size keys in one transaction, Connected (4))
//
//   frontend 5: Closing.  frontend 6: disconnect (EBUSY while bios are in
//   flight: the ring is kept), Closed; offline or frontend gone (0): remove,
//   which closes the block device once no bio is in flight (the moment an
//   autoclear loop device detaches).
//
// Simplifications: a handler is one atomic step (the real one makes several
// xenstore calls); the ring is mapped into the data plane at connect, and at
// frontend_changed its grants are only checked (mapped and unmapped), since
// the data plane's backend ring is bound to its device; one queue, one
// ring page, no persistent grants.

import { errnoOf, type StepContext } from "../sim/op";
import { declareKind } from "../sim/object-kind";
import type { Store } from "../sim/store";
import { MAX_INDIRECT_SEGMENTS, type BlkifAbi } from "../core/abi";
import { bumpImageGens } from "./images";
import { BLKIF_RING, EMPTY_RING } from "./blkif-ring";
import { parsePhysicalDevice, vbdCreate, vbdFree, type Vbd } from "./blkback-vbd";
import { ERRNO, type Errno } from "../linux/errno";
import { programStack } from "../linux/io";
import { blkbackMode, type XenKernel } from "./xen-kernel";
import { devFatal, devState, readOtherendDetails, readState, switchDevState, XBDEV, XenbusState } from "./xenbus";
import { kstrtoul, xenbusReadUnsigned, xenbusScanf } from "./xenbus-scanf";
import { evtchnBindInterdomain, evtchnClose, evtchnDeliverable, evtchnSend, evtchnTake, EVTCHN_PORT } from "./evtchn";
import { deviceToken } from "./watch-tokens";
import type { XsConn } from "./xs-conn";

/**
 * `blkback:<backend domid>:<frontend domid>:<devid>`: struct backend_info
 * and its xen_blkif, the xenbus side. What the ring thread works on is an
 * object of its own (BlkbackRing), so that the thread's wait (which lists
 * and reads the rings) does not depend on every xenbus event of a device.
 */
export interface BlkbackDevice {
  nodename: string;
  frontend: string;
  frontendId: number;
  devid: number;
  vbd: Vbd | null;
  /** Image files this backend's I/O reached (for `isolation`). */
  served: string[];
  /** Unregistered: the last reference (and the block device) goes when nothing is in flight. */
  removed: boolean;
}

/** `blkring:<backend domid>:<frontend domid>:<devid>`: the ring of a device, from connect_ring until the disconnect. */
export interface BlkbackRing {
  nodename: string;
  /** What connect_ring read from the frontend (the ring's grant refs, its event channel, its ABI) and the port it bound. */
  ring: { refs: number[]; port: number; localPort: number; abi: BlkifAbi };
  /** The data plane's backend ring once connected. */
  dpRing: number | null;
  /** Requests taken from the ring whose bios have not completed. */
  inflight: number;
  /** The last batch's final check found more requests: the thread goes on without an event (waiting_reqs). */
  more: boolean;
  /** The frontend overran the ring: blkback stopped serving it. */
  bogus: boolean;
}

export const MAX_RING_PAGE_ORDER = 0;
export const VDISK_READONLY = 4;
const ABIS: readonly string[] = ["x86_64-abi", "x86_32-abi"];

/** The tail of both objects of a device, and its parts back. */
type DeviceParts = [backDomid: number, frontDomid: number, devid: number];
const deviceTail = (...[backDomid, frontDomid, devid]: DeviceParts): string => `${backDomid}:${frontDomid}:${devid}`;
const deviceParts = (tail: string): DeviceParts => tail.split(":").map(Number) as DeviceParts;
export const BLKBACK = declareKind<BlkbackDevice, DeviceParts>("blkback", deviceTail, deviceParts);
export const BLKRING = declareKind<BlkbackRing, DeviceParts>("blkring", deviceTail, deviceParts);

/** The ring object of a device key, and back: the same tail. */
export const ringOf = (key: string): string => BLKRING.withTail(BLKBACK.tail(key));
const deviceOf = (rkey: string): string => BLKBACK.withTail(BLKRING.tail(rkey));

/** "/local/domain/<B>/backend/vbd/<F>/<devid>" → its parts, or undefined. */
export function parseBackendPath(path: string): { back: number; front: number; devid: number; nodename: string } | undefined {
  const m = /^\/local\/domain\/(\d+)\/backend\/vbd\/(\d+)\/(\d+)(?:\/|$)/.exec(path);
  if (!m) return undefined;
  return { back: Number(m[1]), front: Number(m[2]), devid: Number(m[3]), nodename: `/local/domain/${m[1]}/backend/vbd/${m[2]}/${m[3]}` };
}

// blkback's own state is dev->state (devState, switchDevState: xenbus.ts),
// never the `state` node: the toolstack writes the backend's node itself
// (libxl's detach sets it to 5, to tell the frontend), and a
// frontend_changed(Connected) arriving after that must not connect again
// and write 4 over libxl's 5.

/**
 * The backend bus watch (xenbus_probe_backend's backend_changed →
 * xenbus_dev_changed): a device directory that appeared in state
 * Initialising is probed; one that disappeared is unregistered. Linux
 * handles the one device the event's path names, for every event; here the
 * bus watch coalesces its events while one is pending (a reduction of the
 * model, see xenwatch.ts), so a delivery looks at every device instead,
 * which is what the dropped events would have done, done at the first.
 */
export function blkbackBusChanged(ctx: StepContext, k: XenKernel, xs: XsConn, _path: string): void {
  const root = `/local/domain/${xs.domid}/backend/vbd`;
  const present = new Set<string>();
  for (const f of xs.ls(root) ?? []) for (const devid of xs.ls(`${root}/${f}`) ?? []) present.add(`${root}/${f}/${devid}`);
  for (const key of BLKBACK.list(ctx.store, String(xs.domid))) {
    const be = BLKBACK.get(ctx.store, key)!;
    if (!present.has(be.nodename) && !be.removed) blkbackRemove(ctx, k, xs, key, be);
  }
  for (const nodename of present) {
    const p = parseBackendPath(nodename);
    if (!p) continue;
    const key = BLKBACK.key(p.back, p.front, p.devid);
    if (BLKBACK.has(ctx.store, key)) continue;
    // xenbus_probe_node probes only a device the toolstack left in Initialising.
    if (readState(xs, p.nodename) !== XenbusState.Initialising) continue;
    blkbackProbe(ctx, k, xs, key, p.nodename, p.front, p.devid);
  }
}

/** xen_blkbk_probe, after xenbus_dev_probe read the other end and watched its state. */
function blkbackProbe(ctx: StepContext, k: XenKernel, xs: XsConn, key: string, nodename: string, front: number, devid: number): void {
  const other = readOtherendDetails(ctx.store, xs, nodename, "frontend-id", "frontend");
  if (!other) return;
  const { path: frontend, id: frontendId } = other;
  const be: BlkbackDevice = { nodename, frontend, frontendId, devid, vbd: null, served: [], removed: false };
  BLKBACK.set(ctx.store, key, be);
  // xenbus_dev_probe's watch_otherend: the backend bus gives it frontend_will_handle (XSA-349),
  // so a guest flooding its state node queues one event at a time.
  xs.watch(`${frontend}/state`, deviceToken("blkbackOtherend", nodename), { dropWhilePending: true });
  xs.write(`${nodename}/feature-max-indirect-segments`, String(MAX_INDIRECT_SEGMENTS));
  xs.write(`${nodename}/multi-queue-max-queues`, "1");
  // xenbus_watch_pathfmt(dev, &be->backend_watch, NULL, backend_changed, ...): no will_handle, every event.
  xs.watch(`${nodename}/physical-device`, deviceToken("blkbackPhysicalDevice", nodename));
  xs.write(`${nodename}/max-ring-page-order`, String(MAX_RING_PAGE_ORDER));
  if (blkbackMode(k).opened && xs.write(`${nodename}/opened`, "0") !== undefined) {
    devFatal(ctx.store, xs, nodename, ERRNO.EACCES, "writing opened");
    return;
  }
  switchDevState(ctx.store, xs, nodename, XenbusState.InitWait);
  ctx.emit({ kind: "blkback", domain: k.domains[xs.domid], message: `probe ${nodename}: InitWait` });
}

/** backend_changed: the physical-device watch fired. */
export function blkbackBackendChanged(ctx: StepContext, k: XenKernel, xs: XsConn, nodename: string): void {
  const p = parseBackendPath(nodename);
  if (!p) return;
  const key = BLKBACK.key(p.back, p.front, p.devid);
  const be = BLKBACK.get(ctx.store, key);
  if (!be || be.removed) return;
  const mode = blkbackMode(k);
  const pd = parsePhysicalDevice(mode.diskseq, xs.read(`${nodename}/physical-device`), mode.diskseq === "node" ? xs.read(`${nodename}/diskseq`) : undefined);
  if (pd.kind === "absent") return; // the watch fires once at registration, before the script wrote anything
  if (pd.kind === "fatal") {
    devFatal(ctx.store, xs, nodename, pd.err, pd.message);
    return;
  }
  if (be.vbd) {
    if (be.vbd.major !== pd.major || be.vbd.minor !== pd.minor || (mode.diskseq !== "none" && be.vbd.diskseq !== pd.diskseq)) {
      ctx.emit({ kind: "blkback", domain: k.domains[xs.domid], message: `changing physical device (from ${be.vbd.major.toString(16)}:${be.vbd.minor.toString(16)} to ${pd.major.toString(16)}:${pd.minor.toString(16)}) not supported` });
    }
    return;
  }
  const modeKey = xs.read(`${nodename}/mode`);
  if (modeKey === undefined) {
    devFatal(ctx.store, xs, nodename, ERRNO.ENOENT, "reading mode");
    return;
  }
  // The vbd's handle: the frontend directory's last component, kstrtoul(..., 0); a failure ends the callback quietly.
  if (kstrtoul(be.frontend.slice(be.frontend.lastIndexOf("/") + 1)) === undefined) return;
  const readOnly = !modeKey.includes("w");
  const d = k.domains[xs.domid]!;
  const r = vbdCreate(ctx, k, d, pd, readOnly, mode.diskseq !== "none");
  if (!r.ok) {
    // be->major = be->minor = 0: a later rewrite of the keys may try again.
    devFatal(ctx.store, xs, nodename, r.err, r.message);
    return;
  }
  if (mode.opened && xs.write(`${nodename}/opened`, "1") !== undefined) {
    vbdFree(ctx, k, d, r.vbd);
    devFatal(ctx.store, xs, nodename, ERRNO.EACCES, "writing opened");
    return;
  }
  const now = BLKBACK.update(ctx.store, key, be, { vbd: r.vbd });
  ctx.emit({ kind: "blkback", domain: d, message: `${nodename}: opened ${r.vbd.major.toString(16)}:${r.vbd.minor.toString(16)} (diskseq ${r.vbd.openedDiskseq})` });
  tryConnect(ctx, k, xs, key, now);
}

/** frontend_changed: the other end's state watch fired. */
export function blkbackFrontendChanged(ctx: StepContext, k: XenKernel, xs: XsConn, nodename: string): void {
  const p = parseBackendPath(nodename);
  if (!p) return;
  const key = BLKBACK.key(p.back, p.front, p.devid);
  const be = BLKBACK.get(ctx.store, key);
  if (!be || be.removed) return;
  const fstate = readState(xs, be.frontend);
  const mine = devState(ctx.store, nodename);
  switch (fstate) {
    case XenbusState.Initialising:
      if (mine === XenbusState.Closed) switchDevState(ctx.store, xs, nodename, XenbusState.InitWait); // prepare for reconnect
      return;
    case XenbusState.Initialised:
    case XenbusState.Connected: {
      if (mine === XenbusState.Connected) return;
      if (disconnect(ctx, k, key) === "EBUSY") {
        devFatal(ctx.store, xs, nodename, ERRNO.EBUSY, "pending I/O");
        return;
      }
      const ring = connectRing(ctx, k, xs, be);
      if (!ring) return;
      BLKRING.set(ctx.store, ringOf(key), { nodename, ring, dpRing: null, inflight: 0, more: false, bogus: false });
      tryConnect(ctx, k, xs, key, be);
      return;
    }
    case XenbusState.Closing:
      switchDevState(ctx.store, xs, nodename, XenbusState.Closing);
      return;
    case XenbusState.Closed: {
      disconnect(ctx, k, key);
      switchDevState(ctx.store, xs, nodename, XenbusState.Closed);
      if (xs.read(`${nodename}/online`) === "1") return;
      blkbackRemove(ctx, k, xs, key, be);
      return;
    }
    case XenbusState.Unknown:
      blkbackRemove(ctx, k, xs, key, be);
      return;
    default:
      devFatal(ctx.store, xs, nodename, ERRNO.EINVAL, `saw state ${fstate} at frontend`);
  }
}

/** xenblk_max_queues: the model serves one queue (it advertises multi-queue-max-queues = 1). */
const MAX_QUEUES = 1;

/**
 * connect_ring and read_per_ring_refs (xen-blkback/xenbus.c): the
 * frontend's keys as Linux reads them (xenbus-scanf.ts), and a check that
 * the ring grant maps and the event channel binds (xen_blkif_map).
 * Undefined after a fatal error, with the error node Linux writes.
 */
function connectRing(ctx: StepContext, k: XenKernel, xs: XsConn, be: BlkbackDevice): BlkbackRing["ring"] | undefined {
  const fe = be.frontend;
  const fatal = (err: number, message: string) => {
    devFatal(ctx.store, xs, be.nodename, err, message);
    return undefined;
  };
  // "%63s": a word of at most 63 bytes; none at all means the default ABI (x86_32 on x86).
  const proto = xenbusScanf(xs, fe, "protocol", "%63s");
  const protocol = proto.ok ? (proto.items[0] as string) : "x86_32-abi";
  // A protocol it does not know is fatal with scanf's count (1) passed as the error: printed -1.
  if (!ABIS.includes(protocol)) return fatal(-1, `unknown fe protocol ${protocol}`);
  const err = proto.ok ? 1 : proto.err;
  const queues = xenbusReadUnsigned(xs, fe, "multi-queue-num-queues", 1);
  if (queues > MAX_QUEUES || queues === 0) return fatal(-err, `guest requested ${queues} queues, exceeding the maximum of ${MAX_QUEUES}.`);
  // ring-page-order present (and within the maximum) means ring-ref0..N-1, absent or unreadable one ring-ref.
  const order = xenbusScanf(xs, fe, "ring-page-order", "%u");
  const orderValue = order.ok ? Number(order.items[0]) : 0;
  if (order.ok && orderValue > MAX_RING_PAGE_ORDER) return fatal(ERRNO.EINVAL, `requested ring page order ${orderValue | 0} exceed max:${MAX_RING_PAGE_ORDER}`);
  const evtchn = xenbusScanf(xs, fe, "event-channel", "%u");
  if (!evtchn.ok) return fatal(ERRNO.EINVAL, `reading ${fe}/event-channel`);
  const port = Number(evtchn.items[0]);
  const refs: number[] = [];
  for (let i = 0; i < 1 << orderValue; i++) {
    const name = order.ok ? `ring-ref${i}` : "ring-ref";
    const r = xenbusScanf(xs, fe, name, "%u");
    if (!r.ok) return fatal(ERRNO.EINVAL, `reading ${fe}/${name}`);
    refs.push(Number(r.items[0]));
  }
  // xen_blkif_map: xenbus_map_ring_valloc (a failed map is fatal there with the grant status, and -ENOENT here).
  const dp = k.dp!;
  for (const ref of refs) {
    const m = dp.mapGrant(xs.domid, be.frontendId, ref);
    if (!m.ok) {
      devFatal(ctx.store, xs, be.nodename, -m.status, `mapping in shared page ${ref | 0} from domain ${be.frontendId}`);
      return fatal(ERRNO.ENOENT, `mapping ring-ref port ${port}`);
    }
    dp.unmapGrant(xs.domid, m.handle);
  }
  // bind_interdomain_evtchn_to_irqhandler_lateeoi: its errno, through the same message.
  let localPort: number;
  try {
    localPort = evtchnBindInterdomain(ctx, xs.domid, be.frontendId, port);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === undefined) throw e;
    return fatal(ERRNO[errno as Errno] ?? ERRNO.EINVAL, `mapping ring-ref port ${port}`);
  }
  // The new port starts pending (Xen's conservative choice): its upcall sets waiting_reqs, and
  // the ring thread's first pass, whenever it comes, finds the ring as blkfront initialised it
  // (blkfront pushes nothing before Connected) or finds what a push that notified anyway put
  // there (the bit coalesces). That pass changes nothing, so it is folded in here: the event is
  // taken at the bind instead of being a step of its own (which costs 1.6× the states).
  evtchnTake(ctx, xs.domid, localPort);
  return { refs, port, localPort, abi: protocol as BlkifAbi };
}

/** connect(): when both the ring is bound and the device is open, in either order. */
function tryConnect(ctx: StepContext, k: XenKernel, xs: XsConn, key: string, be: BlkbackDevice): void {
  if (!be.vbd) return;
  const rs = BLKRING.get(ctx.store, ringOf(key));
  if (!rs || rs.dpRing !== null) return;
  if (devState(ctx.store, be.nodename) === XenbusState.Connected) return;
  const dp = k.dp!;
  const r = dp.backendConnect(xs.domid, be.frontendId, { grefs: rs.ring.refs, abi: rs.ring.abi, device: 0, sectors: be.vbd.sectors, readOnly: be.vbd.readOnly });
  if (!r.ok) {
    // The ring grant was checked at frontend_changed; revoked since, its map fails as xen_blkif_map's would.
    devFatal(ctx.store, xs, be.nodename, ERRNO.ENOENT, `mapping ring-ref port ${rs.ring.port}`);
    return;
  }
  const rk = BLKIF_RING.key(be.frontendId, be.devid);
  if (!BLKIF_RING.get(ctx.store, rk)) BLKIF_RING.set(ctx.store, rk, EMPTY_RING);
  BLKRING.update(ctx.store, ringOf(key), rs, { dpRing: r.ring });
  const n = be.nodename;
  // One transaction in Linux: here one step.
  xs.write(`${n}/feature-flush-cache`, "1");
  xs.write(`${n}/feature-discard`, "0");
  xs.write(`${n}/feature-barrier`, "1");
  xs.write(`${n}/feature-persistent`, "0");
  xs.write(`${n}/sectors`, String(be.vbd.sectors));
  xs.write(`${n}/info`, String(be.vbd.readOnly ? VDISK_READONLY : 0));
  xs.write(`${n}/sector-size`, "512");
  xs.write(`${n}/physical-sector-size`, "512");
  switchDevState(ctx.store, xs, n, XenbusState.Connected);
  ctx.emit({ kind: "blkback", domain: k.domains[xs.domid], message: `${n}: Connected, ${be.vbd.sectors} sectors` });
}

/** xen_blkif_disconnect: EBUSY (and the ring kept) while bios are in flight; otherwise the ring is unmapped. */
function disconnect(ctx: StepContext, k: XenKernel, key: string): "EBUSY" | undefined {
  const rs = BLKRING.get(ctx.store, ringOf(key));
  if (!rs) return undefined;
  if (rs.inflight > 0) return "EBUSY";
  if (rs.dpRing !== null) k.dp!.backendDisconnect(rs.dpRing);
  unbindPort(ctx, key, rs);
  BLKRING.delete(ctx.store, ringOf(key));
  return undefined;
}

/** xen_blkif_disconnect's unbind_from_irqhandler: the frontend's end returns to unbound. */
function unbindPort(ctx: StepContext, key: string, rs: BlkbackRing): void {
  const back = backDomid(key);
  if (EVTCHN_PORT.has(ctx.store, EVTCHN_PORT.key(back, rs.ring.localPort))) evtchnClose(ctx, back, rs.ring.localPort);
}

/**
 * device_unregister → xen_blkbk_remove: the watches go, and the last
 * reference closes the block device, deferred while bios are in flight.
 */
function blkbackRemove(ctx: StepContext, k: XenKernel, xs: XsConn, key: string, be: BlkbackDevice): void {
  xs.unwatch(`${be.nodename}/physical-device`, deviceToken("blkbackPhysicalDevice", be.nodename));
  xs.unwatch(`${be.frontend}/state`, deviceToken("blkbackOtherend", be.nodename));
  if (disconnect(ctx, k, key) === "EBUSY") {
    BLKBACK.update(ctx.store, key, be, { removed: true });
    return;
  }
  finalPut(ctx, k, key, be);
}

/** The last xen_blkif_put: the vbd's block device is closed and the device is gone. */
function finalPut(ctx: StepContext, k: XenKernel, key: string, be: BlkbackDevice): void {
  const d = k.domains[backDomid(key)]!;
  if (be.vbd) vbdFree(ctx, k, d, be.vbd);
  BLKBACK.delete(ctx.store, key);
  XBDEV.delete(ctx.store, XBDEV.key(be.nodename));
  ctx.emit({ kind: "blkback", domain: d, message: `${be.nodename}: removed` });
}

// ---- the ring kthread (xen_blkif_schedule): batches and completions ----

/** Work the ring thread of frontend domain `frontDomid` can do now: a notified ring of that guest to serve, or bios to complete (ring keys). */
export function ringWork(store: Store, backDomid: number, frontDomid: number): string[] {
  const out: string[] = [];
  for (const rkey of BLKRING.list(store, String(backDomid))) {
    const [, front, devid] = BLKRING.parts(rkey);
    if (front !== frontDomid) continue;
    const rs = BLKRING.get(store, rkey)!;
    if (rs.inflight > 0) {
      out.push(rkey);
      continue;
    }
    if (rs.dpRing === null || rs.bogus) continue;
    // A ring whose frontend already freed it (its mirror gone) has nothing to serve.
    if (!BLKIF_RING.get(store, BLKIF_RING.key(front, devid))) continue;
    if (rs.more || evtchnDeliverable(store, backDomid, rs.ring.localPort)) out.push(rkey);
  }
  return out;
}

/**
 * One step of a ring thread: complete the bios in flight, or take a batch
 * (do_block_io_op) through the vbd's device stack, programmed into the data
 * plane from the store at this step.
 */
export function ringStep(ctx: StepContext, k: XenKernel, backDomid: number, frontDomid: number): void {
  const work = ringWork(ctx.store, backDomid, frontDomid);
  if (work.length === 0) return;
  const rkey = work.length === 1 ? work[0]! : work[ctx.choose("blkback.ring", work.length)]!;
  const key = deviceOf(rkey);
  const be = BLKBACK.get(ctx.store, key)!;
  const rs = BLKRING.get(ctx.store, rkey)!;
  const rk = BLKIF_RING.key(be.frontendId, be.devid);
  const ring = BLKIF_RING.get(ctx.store, rk)!;
  if (rs.inflight > 0) {
    complete(ctx, k, key, be, rs, rk);
    return;
  }
  evtchnTake(ctx, backDomid, rs.ring.localPort); // the upcall (xen_blkif_be_int) wakes the thread
  const dp = k.dp!;
  let images: string[] = [];
  try {
    images = programStack(ctx, k, be.vbd!.disk).images;
  } catch (e) {
    if (errnoOf(e) === undefined) throw e;
    // The stack fails every bio (a deleted disk, an unbound loop device): each request is answered BLKIF_RSP_ERROR.
    dp.setTableDevice(0, [{ start: 0, length: Math.max(1, be.vbd!.sectors), type: "error" }]);
  }
  const r = dp.backendProcess(rs.dpRing!);
  const stats = dp.backendStats(rs.dpRing!);
  BLKIF_RING.update(ctx.store, rk, ring, { notifyBack: r.more, answered: ring.answered + r.answered, writes: 0, completionNotify: r.notify, failed: stats.error + stats.eopnotsupp });
  const served = [...new Set([...be.served, ...images])].sort();
  if (served.length !== be.served.length) BLKBACK.update(ctx.store, key, be, { served });
  const change: Partial<BlkbackRing> = { inflight: r.answered, more: r.more };
  if (r.bogus) {
    change.bogus = true;
    ctx.emit({ kind: "blkback", domain: k.domains[backDomid], message: `${be.nodename}: frontend provided bogus ring requests; ring halted` });
  }
  if (ring.writes > 0 && r.answered > 0) bumpImageGens(ctx.store, images);
  BLKRING.update(ctx.store, ringOf(key), rs, change);
}

/** The batch's bios end: responses are published, the frontend notified, and a removal deferred by them finishes. */
function complete(ctx: StepContext, k: XenKernel, key: string, be: BlkbackDevice, rs: BlkbackRing, rk: string): void {
  const ring = BLKIF_RING.get(ctx.store, rk);
  // make_response's RING_PUSH_RESPONSES_AND_CHECK_NOTIFY said so: notify_remote_via_irq. A guest that died with
  // bios in flight took its view of the ring with it: the responses land in a page nobody reads.
  if (ring) {
    if (ring.completionNotify && EVTCHN_PORT.has(ctx.store, EVTCHN_PORT.key(backDomid(key), rs.ring.localPort))) evtchnSend(ctx, backDomid(key), rs.ring.localPort);
    BLKIF_RING.update(ctx.store, rk, ring, { notifyFront: ring.notifyFront || ring.completionNotify, completionNotify: false });
  }
  BLKRING.update(ctx.store, ringOf(key), rs, { inflight: 0 });
  if (be.removed) {
    if (rs.dpRing !== null) k.dp!.backendDisconnect(rs.dpRing);
    unbindPort(ctx, key, rs);
    BLKRING.delete(ctx.store, ringOf(key));
    finalPut(ctx, k, key, be);
  }
}

function backDomid(key: string): number {
  return BLKBACK.parts(key)[0];
}
