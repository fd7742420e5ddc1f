// Linux xen-blkfront (drivers/block/xen-blkfront.c) in a guest kernel: the
// xenbus side run by the guest's xenwatch thread, and the request path of
// `sys.disk.read/write`. The protocol: docs/xen-protocol.md, "The shared
// ring", "blkif requests and responses", "Attaching a disk" (steps 6 and 9),
// "Detaching a disk" and "Guest-initiated close".
//
//   probe (device dir appears, state 1): read virtual-device, watch the backend's state
//   backend 2 (InitWait), we are 1:  talk_to_blkback: initialise the ring on a
//        guest page, grant it to the backend, allocate the event channel,
//        write ring-ref, event-channel, protocol (one transaction), Initialised (3)
//   backend 4 (Connected): read sectors, info, sector-size; Connected (4)
//        (again while connected: a resize, the size is read again)
//   backend 5 or 6: blkfront_closing: the disk is dead (I/O fails), Closed (6)
//   control/shutdown: every connected device goes Closing (5) (xenbus_dev_shutdown)
//
// A disk request (`disk.read`, `disk.write`) is two steps of the calling
// process: submit (grant the data pages, queue up to 4 requests of 11
// segments, push-and-check, notify) and complete (once the event channel
// fires: consume the responses, end foreign access, copy the data out).
// Between them, blkback's ring thread serves the batch and completes its
// bios. Simplifications: no persistent grants, no indirect descriptors, one
// queue, one ring page; a process waits for its disk to be connected (a
// real one would find no /dev/xvdX yet).

import { errnoOf, type Op, type StepContext } from "../sim/op";
import { declareKind } from "../sim/object-kind";
import type { Store } from "../sim/store";
import { BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_RSP, encodeRequest, SECTOR_SIZE, PAGE_SIZE, type Segment } from "../core/abi";
import { fail } from "../linux/kernel";
import { BLKIF_RING, EMPTY_RING } from "./blkif-ring";
import { evtchnAllocUnbound, evtchnClose, evtchnSend, evtchnTake, EVTCHN_PORT } from "./evtchn";
import { VDISK_READONLY } from "./blkback";
import type { XenKernel } from "./xen-kernel";
import { ERRNO, type Errno } from "../linux/errno";
import { devFatal, devState, readOtherendDetails, readState, switchDevState, XBDEV, XenbusState } from "./xenbus";
import { xenbusExistErr, xenbusGather, xenbusScanf } from "./xenbus-scanf";
import { deviceToken } from "./watch-tokens";
import type { XsConn } from "./xs-conn";

/** Guest memory per device: the ring page and 4 × 11 data pages, from this gfn on. */
const PAGES_PER_DEVICE = 48;
const FIRST_GFN = 64;
/** Grant refs 0..7 are reserved (console, xenstore). */
const FIRST_REF = 8;
const SEGMENTS = BLKIF_MAX_SEGMENTS_PER_REQUEST;
const SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;
export const MAX_REQUESTS_PER_CALL = 4;
export const MAX_SECTORS_PER_CALL = MAX_REQUESTS_PER_CALL * SEGMENTS * SECTORS_PER_PAGE;

export type FrontPhase = "probed" | "initialised" | "connected" | "closed";

/** `blkfront:<domid>:<devid>`: struct blkfront_info. */
export interface BlkfrontDevice {
  nodename: string;
  backend: string;
  backendId: number;
  devid: number;
  /** Which block of guest pages and grant refs the device uses. */
  slot: number;
  phase: FrontPhase;
  /** The data plane's frontend ring, once set up. */
  ring: number | null;
  port: number;
  sectors: number;
  readOnly: boolean;
  /** The backend overran the ring or broke the protocol: the disk is in an error state. */
  broken: boolean;
  /** The request batch of the process waiting on this disk. */
  inflight: { op: "read" | "write"; count: number; requests: number } | null;
}

export const BLKFRONT = declareKind<BlkfrontDevice, [domid: number, devid: number]>("blkfront", (domid, devid) => `${domid}:${devid}`);

/**
 * A virtual device's name to its number (docs/man/xen-vbd-interface.7):
 * xvdX → 202<<8 | disk<<4 for disks 0..15, 1<<28 | disk<<8 beyond;
 * sdX → 8<<8 | disk<<4; hdX → 3<<8 | disk<<6; or the number itself.
 */
export function vdevToDevid(vdev: string): number | undefined {
  if (/^\d+$/.test(vdev)) return Number(vdev);
  const m = /^(xvd|sd|hd)([a-z]+)$/.exec(vdev);
  if (!m) return undefined;
  let disk = 0;
  for (const c of m[2]!) disk = disk * 26 + (c.charCodeAt(0) - 96);
  disk -= 1;
  if (m[1] === "xvd") return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
  if (m[1] === "sd") return disk < 16 ? (8 << 8) | (disk << 4) : undefined;
  return disk < 4 ? (3 << 8) | (disk << 6) : undefined;
}

/** The guest frame of a device's page: 0 is the ring, 1..44 the data pages. */
export function gfnOf(slot: number, page: number): number {
  return FIRST_GFN + slot * PAGES_PER_DEVICE + page;
}
/** The grant ref of a device's page (same numbering). */
export function refOf(slot: number, page: number): number {
  return FIRST_REF + slot * PAGES_PER_DEVICE + page;
}

/** "/local/domain/<F>/device/vbd/<devid>[/...]" → the device's parts. */
function parseFrontPath(path: string): { front: number; devid: number; nodename: string } | undefined {
  const m = /^\/local\/domain\/(\d+)\/device\/vbd\/(\d+)(?:\/|$)/.exec(path);
  return m ? { front: Number(m[1]), devid: Number(m[2]), nodename: `/local/domain/${m[1]}/device/vbd/${m[2]}` } : undefined;
}

/**
 * The frontend bus watch: probe a new device in state Initialising, remove
 * a device whose directory went. Like the backend's, it coalesces its
 * events while one is pending and looks at every device (a reduction of the
 * model: Linux's frontend bus watch has no will_handle filter and handles
 * the device of each event; the result is the same, with fewer deliveries).
 * The watch on the backend's state delivers every event, as in Linux (only
 * a backend's watch on its frontend's state has will_handle).
 */
export function blkfrontBusChanged(ctx: StepContext, k: XenKernel, xs: XsConn, _path: string): void {
  const root = `/local/domain/${xs.domid}/device/vbd`;
  const present = new Set((xs.ls(root) ?? []).map((devid) => `${root}/${devid}`));
  const mine = BLKFRONT.list(ctx.store, String(xs.domid));
  for (const key of mine) {
    const fe = BLKFRONT.get(ctx.store, key)!;
    if (!present.has(fe.nodename)) blkfrontRemove(ctx, k, xs, key, fe);
  }
  for (const nodename of present) {
    const p = parseFrontPath(nodename);
    if (!p) continue;
    const key = BLKFRONT.key(p.front, p.devid);
    if (BLKFRONT.has(ctx.store, key) || readState(xs, p.nodename) !== XenbusState.Initialising) continue;
    // xenbus_dev_probe: talk_to_otherend (backend-id "%i", backend), then blkfront_probe's
    // virtual-device (or virtual-device-ext) "%i"; a failure is fatal and the device stays unprobed.
    const other = readOtherendDetails(ctx.store, xs, p.nodename, "backend-id", "backend");
    if (!other) continue;
    const vdev = xenbusScanf(xs, p.nodename, "virtual-device", "%i");
    const vdevExt = vdev.ok ? vdev : xenbusScanf(xs, p.nodename, "virtual-device-ext", "%i");
    if (!vdevExt.ok) {
      devFatal(ctx.store, xs, p.nodename, -vdevExt.err, "reading virtual-device");
      continue;
    }
    const { path: backend, id: backendId } = other;
    const used = new Set(BLKFRONT.list(ctx.store, String(p.front)).map((x) => BLKFRONT.get(ctx.store, x)!.slot));
    let slot = 0;
    while (used.has(slot)) slot++;
    const dev: BlkfrontDevice = { nodename: p.nodename, backend, backendId, devid: p.devid, slot, phase: "probed", ring: null, port: 0, sectors: 0, readOnly: false, broken: false, inflight: null };
    BLKFRONT.set(ctx.store, key, dev);
    xs.watch(`${backend}/state`, deviceToken("blkfrontBackend", p.nodename));
  }
}

/** blkback_changed: the backend's state watch fired. */
export function blkfrontBackendChanged(ctx: StepContext, k: XenKernel, xs: XsConn, nodename: string): void {
  const p = parseFrontPath(nodename);
  if (!p) return;
  const key = BLKFRONT.key(p.front, p.devid);
  let fe = BLKFRONT.get(ctx.store, key);
  if (!fe) return;
  const bstate = readState(xs, fe.backend);
  const mine = devState(ctx.store, nodename);
  switch (bstate) {
    case XenbusState.InitWait:
      if (mine === XenbusState.Initialising) talkToBlkback(ctx, k, xs, key, fe);
      return;
    case XenbusState.Connected:
      // talk_to_blkback unless it already ran (dev->state Initialised or Connected: a repeated 4 is a resize).
      if (mine !== XenbusState.Initialised && mine !== XenbusState.Connected) {
        const talked = talkToBlkback(ctx, k, xs, key, fe);
        if (!talked) return;
        fe = talked;
      }
      blkfrontConnect(ctx, xs, key, fe);
      // A disk that connects after the guest was asked to power off is closed by the
      // shutdown's device_shutdown, which runs after every pending xenbus event.
      if (shutdownAsked(xs) && devState(ctx.store, nodename) === XenbusState.Connected) switchDevState(ctx.store, xs, nodename, XenbusState.Closing);
      return;
    case XenbusState.Closed:
    case XenbusState.Closing:
      if (bstate === XenbusState.Closed && mine === XenbusState.Closed) return;
      if (mine === XenbusState.Closing) {
        BLKFRONT.update(ctx.store, key, fe, { phase: "closed" });
        return;
      }
      BLKFRONT.update(ctx.store, key, fe, { phase: "closed", sectors: 0 });
      switchDevState(ctx.store, xs, nodename, XenbusState.Closed); // xenbus_frontend_closed
      return;
    default:
  }
}

/**
 * talk_to_blkback: ring, grant, event channel, the keys in one transaction,
 * Initialised. Undefined when xenbus_alloc_evtchn fails (a backend domain
 * that is gone: the model's EVTCHNOP_alloc_unbound answers ESRCH), which is
 * fatal ("allocating event channel") and frees the ring (blkif_free).
 */
function talkToBlkback(ctx: StepContext, k: XenKernel, xs: XsConn, key: string, fe: BlkfrontDevice): BlkfrontDevice | undefined {
  const dp = k.dp!;
  // xenbus_alloc_evtchn: an unbound port the backend domain may bind (kept across a reconnect).
  let port = fe.port;
  if (port === 0) {
    try {
      port = evtchnAllocUnbound(ctx, xs.domid, fe.backendId);
    } catch (e) {
      const errno = errnoOf(e);
      if (errno === undefined) throw e;
      devFatal(ctx.store, xs, fe.nodename, ERRNO[errno as Errno] ?? ERRNO.EINVAL, "allocating event channel");
      return undefined;
    }
  }
  let ring = fe.ring;
  const gfn = gfnOf(fe.slot, 0);
  if (ring === null) {
    ring = dp.frontendInit(xs.domid, [gfn]);
    dp.grantAccess(xs.domid, refOf(fe.slot, 0), fe.backendId, gfn);
  }
  const n = fe.nodename;
  xs.write(`${n}/ring-ref`, String(refOf(fe.slot, 0)));
  xs.write(`${n}/event-channel`, String(port));
  xs.write(`${n}/protocol`, "x86_64-abi");
  xs.write(`${n}/feature-persistent`, "0");
  switchDevState(ctx.store, xs, n, XenbusState.Initialised);
  const rk = BLKIF_RING.key(xs.domid, fe.devid);
  if (!BLKIF_RING.get(ctx.store, rk)) BLKIF_RING.set(ctx.store, rk, EMPTY_RING);
  return BLKFRONT.update(ctx.store, key, fe, { ring, port, phase: "initialised" });
}

/**
 * blkfront_connect: the first time, xenbus_gather of sectors ("%llu"), info
 * ("%u") and sector-size ("%lu"), any of them missing or unreadable being
 * fatal ("reading backend fields at <backend>"), then Connected. Again while
 * connected (a resize): only sectors ("%Lu") is read again, and a missing
 * or unreadable one changes nothing.
 */
function blkfrontConnect(ctx: StepContext, xs: XsConn, key: string, fe: BlkfrontDevice): void {
  if (fe.phase === "connected") {
    const r = xenbusScanf(xs, fe.backend, "sectors", "%Lu");
    if (!r.ok && xenbusExistErr(r.err)) return;
    if (r.ok) BLKFRONT.update(ctx.store, key, fe, { sectors: Number(r.items[0]) });
    return;
  }
  const r = xenbusGather(xs, fe.backend, [["sectors", "%llu"], ["info", "%u"], ["sector-size", "%lu"]]);
  if (!r.ok) {
    devFatal(ctx.store, xs, fe.nodename, -r.err, `reading backend fields at ${fe.backend}`);
    return;
  }
  const [sectors, info] = r.values as bigint[];
  BLKFRONT.update(ctx.store, key, fe, { sectors: Number(sectors), readOnly: (Number(info) & VDISK_READONLY) !== 0, phase: "connected" });
  switchDevState(ctx.store, xs, fe.nodename, XenbusState.Connected);
}

/** blkfront_remove: the device directory went: the ring and its grant are freed. */
function blkfrontRemove(ctx: StepContext, k: XenKernel, xs: XsConn, key: string, fe: BlkfrontDevice): void {
  xs.unwatch(`${fe.backend}/state`, deviceToken("blkfrontBackend", fe.nodename));
  freeRing(ctx, k, xs.domid, fe);
  BLKFRONT.delete(ctx.store, key);
  XBDEV.delete(ctx.store, XBDEV.key(fe.nodename));
}

function freeRing(ctx: StepContext, k: XenKernel, domid: number, fe: BlkfrontDevice): void {
  if (fe.ring === null) return;
  const dp = k.dp!;
  // The backend may still map the ring page: the grant then stays (gnttab_end_foreign_access's deferred list).
  dp.endForeignAccess(domid, refOf(fe.slot, 0));
  dp.frontendFree(fe.ring);
  BLKIF_RING.delete(ctx.store, BLKIF_RING.key(domid, fe.devid));
  // blkif_free: unbind_from_irqhandler closes the port (the backend's end returns to unbound).
  if (fe.port !== 0 && EVTCHN_PORT.has(ctx.store, EVTCHN_PORT.key(domid, fe.port))) evtchnClose(ctx, domid, fe.port);
}

function shutdownAsked(xs: XsConn): boolean {
  const v = xs.read(`/local/domain/${xs.domid}/control/shutdown`);
  return v === "poweroff" || v === "halt" || v === "reboot";
}

/**
 * The control/shutdown watch: the guest powers off, and device_shutdown's
 * xenbus_dev_shutdown takes every connected device to Closing. (Linux runs
 * device_shutdown at the end of the power-off, after the watch: a device
 * still connecting then is closed when it connects, in blkback_changed.)
 */
export function guestShutdownRequested(ctx: StepContext, k: XenKernel, xs: XsConn): void {
  if (!shutdownAsked(xs)) return;
  for (const key of BLKFRONT.list(ctx.store, String(xs.domid))) {
    const fe = BLKFRONT.get(ctx.store, key)!;
    // xenbus_dev_shutdown: only a device whose dev->state is Connected.
    if (devState(ctx.store, fe.nodename) === XenbusState.Connected) switchDevState(ctx.store, xs, fe.nodename, XenbusState.Closing);
  }
}

// ---- the request path ----

export function deviceOf(store: Store, domid: number, vdev: unknown): { key: string; fe: BlkfrontDevice | undefined } {
  const devid = typeof vdev === "string" ? vdevToDevid(vdev) : undefined;
  if (devid === undefined) fail("EINVAL", `${String(vdev)} is not a virtual device name (xvda, xvdb, ...)`);
  const key = BLKFRONT.key(domid, devid);
  return { key, fe: BLKFRONT.get(store, key) };
}

/** A request can go (or fail) once the disk is connected or dead; it waits while another is in flight on it. */
function submitReady(domid: number, vdev: unknown): (store: Store) => boolean {
  return (store) => {
    let fe: BlkfrontDevice | undefined;
    try {
      fe = deviceOf(store, domid, vdev).fe;
    } catch {
      return true;
    }
    return fe !== undefined && (fe.phase === "closed" || fe.broken || (fe.phase === "connected" && fe.inflight === null));
  };
}

function checkRange(fe: BlkfrontDevice, sector: unknown, count: unknown): void {
  if (typeof sector !== "number" || !Number.isSafeInteger(sector) || sector < 0) fail("EINVAL", `bad sector ${String(sector)}`);
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_SECTORS_PER_CALL) fail("EINVAL", `count must be 1..${MAX_SECTORS_PER_CALL} sectors`);
  if (fe.phase !== "connected" || fe.broken) fail("EIO", `the disk is ${fe.broken ? "in an error state" : "gone"}`);
}

/**
 * blkif_queue_request for a whole call: requests of up to 11 segments, each
 * a granted page (writable for a read, read-only for a write), pushed with
 * push-and-check.
 */
function submit(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown, op: "read" | "write", sector: unknown, count: unknown, data?: Uint8Array): void {
  const { key, fe } = deviceOf(ctx.store, domid, vdev);
  if (!fe) return fail("ENODEV", `no disk ${String(vdev)}`);
  checkRange(fe, sector, count);
  const dp = k.dp!;
  const n = count as number;
  const entries: Uint8Array[] = [];
  let page = 1;
  for (let done = 0, id = 0; done < n; id++) {
    const segments: Segment[] = [];
    const first = (sector as number) + done;
    for (let s = 0; s < SEGMENTS && done < n; s++) {
      const len = Math.min(SECTORS_PER_PAGE, n - done);
      const gfn = gfnOf(fe.slot, page);
      if (data) dp.guestWrite(domid, gfn, 0, data.subarray(done * 512, (done + len) * 512));
      dp.grantAccess(domid, refOf(fe.slot, page), fe.backendId, gfn, { readonly: op === "write" });
      segments.push({ gref: refOf(fe.slot, page), firstSect: 0, lastSect: len - 1 });
      done += len;
      page++;
    }
    entries.push(encodeRequest({ operation: op === "read" ? "READ" : "WRITE", id, sector: first, handle: fe.devid & 0xffff, segments }));
  }
  dp.frontendQueue(fe.ring!, entries);
  const notify = dp.frontendPush(fe.ring!);
  if (notify) evtchnSend(ctx, domid, fe.port); // notify_remote_via_irq
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk) ?? EMPTY_RING;
  BLKIF_RING.update(ctx.store, rk, ring, { pushed: ring.pushed + entries.length, notifyBack: ring.notifyBack || notify, writes: ring.writes + (op === "write" ? entries.length : 0) });
  BLKFRONT.update(ctx.store, key, fe, { inflight: { op, count: n, requests: entries.length } });
}

/** Whether the frontend's port has an upcall to deliver (pending, unmasked); a closed port: true (the step fails). */
export function frontEventReady(store: Store, domid: number, port: number): boolean {
  const p = EVTCHN_PORT.get(store, EVTCHN_PORT.key(domid, port));
  return p === undefined || (p.pending && !p.masked);
}

/** The completion is the upcall of the frontend's event channel (blkif_interrupt), or a dead disk. */
function completeReady(domid: number, vdev: unknown): (store: Store) => boolean {
  return (store) => {
    const { fe } = deviceOf(store, domid, vdev);
    if (!fe || fe.phase === "closed" || fe.broken) return true;
    return frontEventReady(store, domid, fe.port);
  };
}

/** blkif_interrupt: consume responses, end foreign access on the data pages, copy the data out. */
function complete(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown): Uint8Array {
  const { key, fe } = deviceOf(ctx.store, domid, vdev);
  if (!fe || !fe.inflight) return fail("EIO", `${String(vdev)} went away during the request`);
  const dp = k.dp!;
  const job = fe.inflight;
  const pages = Math.ceil(job.count / SECTORS_PER_PAGE);
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk);
  evtchnTake(ctx, domid, fe.port);
  const got = fe.ring === null ? "broken" : dp.frontendConsume(fe.ring);
  if (ring) BLKIF_RING.update(ctx.store, rk, ring, { notifyFront: false });
  if (got === "broken" || got.length !== job.requests) {
    // blkfront's hardening: an overrun or a missing answer puts the disk in an error state.
    for (let p = 1; p <= pages; p++) dp.endForeignAccess(domid, refOf(fe.slot, p));
    BLKFRONT.update(ctx.store, key, fe, { inflight: null, broken: fe.phase === "closed" ? fe.broken : true });
    return fail("EIO", fe.phase === "closed" ? `${String(vdev)} was closed during the request` : `the backend broke the ring of ${String(vdev)}`);
  }
  if (fe.ring !== null) dp.frontendFinalCheck(fe.ring);
  let leaked = false;
  for (let p = 1; p <= pages; p++) if (!dp.endForeignAccess(domid, refOf(fe.slot, p))) leaked = true;
  // XSA-396: a grant the backend still maps after its response means a broken backend.
  BLKFRONT.update(ctx.store, key, fe, { inflight: null, broken: leaked });
  const bad = got.find((r) => r.status !== BLKIF_RSP.OKAY);
  if (bad) fail(bad.status === BLKIF_RSP.EOPNOTSUPP ? "EOPNOTSUPP" : "EIO", `${String(vdev)}: the backend answered ${bad.statusName}`);
  if (job.op === "write") return new Uint8Array(0);
  const out = new Uint8Array(job.count * 512);
  for (let p = 0; p < pages; p++) {
    const len = Math.min(SECTORS_PER_PAGE, job.count - p * SECTORS_PER_PAGE) * 512;
    out.set(dp.guestRead(domid, gfnOf(fe.slot, p + 1), 0, len), p * SECTORS_PER_PAGE * 512);
  }
  return out;
}

/** The two steps of one guest disk call. */
export function diskOps(k: XenKernel, domid: number) {
  return {
    submit: (vdev: unknown, op: "read" | "write", sector: unknown, count: unknown, data?: Uint8Array): Op<void> => ({
      call: `disk.${op} submit`,
      args: [vdev, sector, count],
      ready: submitReady(domid, vdev),
      waitingFor: `${String(vdev)} to be connected`,
      run: (ctx) => submit(ctx, k, domid, vdev, op, sector, count, data),
    }),
    complete: (vdev: unknown, op: "read" | "write"): Op<Uint8Array> => ({
      call: `disk.${op} complete`,
      args: [vdev],
      ready: completeReady(domid, vdev),
      waitingFor: `blkback's response on ${String(vdev)}`,
      run: (ctx) => complete(ctx, k, domid, vdev),
    }),
  };
}
