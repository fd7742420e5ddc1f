// The adversary API (`sys.ring`): what a guest kernel can do to the shared
// blkif ring of one of its disks besides running blkfront's protocol, for
// lessons about a hand-written or malicious frontend. The protocol:
// docs/xen-protocol.md, "Index arithmetic and sanity checks", "Push-and-check
// and the final check", "What blkback refuses" and "Revoking a grant in use".
//
//   push         raw requests at req_prod_pvt, RING_PUSH_REQUESTS_AND_CHECK_NOTIFY,
//                notify only if the backend asked (the hold-off)
//   setReqProd   any u32 in the shared req_prod, and a notify
//   responses    wait for the event channel, consume, RING_FINAL_CHECK_FOR_RESPONSES
//   revokeGrant  the guest's own grant entry's flags set to 0 even while mapped
//
// Each is one step of the guest process, on the ring and grants blkfront
// set up (one page, x86_64 layout). What the step changes in the data plane
// shows in the store through the ring object (blkif-ring.ts): `pushed`,
// `notifyBack`, `tampered`. Nothing here reaches another domain: grant refs
// name entries of the guest's own table, and blkback validates every slot
// after copying it.

import type { Op, StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { BLKIF_OP, BLKIF_RSP, encodeRequest, type BlkifRequest } from "../core/abi";
import { fail } from "../linux/kernel";
import { BLKIF_RING, EMPTY_RING } from "./blkif-ring";
import { BLKFRONT, deviceOf, frontEventReady, gfnOf, refOf, vdevToDevid, type BlkfrontDevice } from "./blkfront";
import { evtchnSend, evtchnTake } from "./evtchn";
import { BLKRING } from "./blkback";
import { XEN_DOMAIN } from "./domain";
import type { XenKernel } from "./xen-kernel";
import type { RingRequest, RingResponse, RingView } from "blocklab";

const DATA_PAGES = 44;
const STATUS: Record<number, RingResponse["status"]> = { [BLKIF_RSP.OKAY]: "OKAY", [BLKIF_RSP.ERROR]: "ERROR", [BLKIF_RSP.EOPNOTSUPP]: "EOPNOTSUPP" };

/** The caller's connected disk (its ring set up), or the errno a real guest would see. */
function connected(store: Store, domid: number, vdev: unknown): { key: string; fe: BlkfrontDevice } {
  const { key, fe } = deviceOf(store, domid, vdev);
  if (!fe) return fail("ENODEV", `no disk ${String(vdev)}`);
  if (fe.ring === null || fe.phase !== "connected") fail("EIO", `${String(vdev)} is not connected`);
  return { key, fe };
}

/** Enabled once the disk is connected (or closed: then the step fails), as blkfront's own submit. */
function whenConnected(domid: number, vdev: unknown): (store: Store) => boolean {
  return (store) => {
    try {
      const fe = deviceOf(store, domid, vdev).fe;
      return fe !== undefined && (fe.phase === "connected" || fe.phase === "closed" || fe.broken);
    } catch {
      return true;
    }
  };
}

function u32(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) fail("EINVAL", `${what} must be a u32, got ${String(v)}`);
  return v;
}

/** The request as the slot holds it; data pages named by `page` are granted to the backend here. */
function encode(k: XenKernel, domid: number, fe: BlkfrontDevice, req: RingRequest, index: number): Uint8Array {
  if (typeof req !== "object" || req === null || !Array.isArray(req.segments)) fail("EINVAL", "a request is { operation, sector, segments, id? }");
  const op = typeof req.operation === "number" ? req.operation : BLKIF_OP[req.operation];
  if (op === undefined || !Number.isInteger(op) || op < 0 || op > 255) fail("EINVAL", `bad operation ${String(req.operation)}`);
  const write = op !== BLKIF_OP.READ;
  const dp = k.dp!;
  const segments = req.segments.map((s) => {
    let gref: number;
    if (s.page !== undefined) {
      if (!Number.isInteger(s.page) || s.page < 0 || s.page >= DATA_PAGES) fail("EINVAL", `page must be 0..${DATA_PAGES - 1}, got ${String(s.page)}`);
      gref = refOf(fe.slot, s.page + 1);
      dp.grantAccess(domid, gref, fe.backendId, gfnOf(fe.slot, s.page + 1), { readonly: write });
    } else gref = u32(s.gref, "gref");
    const first = s.firstSect;
    const last = s.lastSect;
    if (![first, last].every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) fail("EINVAL", "firstSect and lastSect are bytes");
    return { gref, firstSect: first, lastSect: last };
  });
  const sector = req.sector;
  if (typeof sector !== "number" || !Number.isSafeInteger(sector) || sector < 0) fail("EINVAL", `bad sector ${String(sector)}`);
  const id = req.id ?? index;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) fail("EINVAL", `bad id ${String(id)}`);
  const raw: BlkifRequest = { operation: "READ", id, sector, handle: fe.devid & 0xffff, segments };
  const bytes = encodeRequest(raw); // nr_segments is the count given, even above 11 (at most 11 are written)
  bytes[0] = op;
  return bytes;
}

function push(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown, requests: unknown): boolean {
  const { fe } = connected(ctx.store, domid, vdev);
  if (!Array.isArray(requests) || requests.length === 0) fail("EINVAL", "push takes a non-empty list of requests");
  const dp = k.dp!;
  const entries = (requests as RingRequest[]).map((r, i) => encode(k, domid, fe, r, i));
  if (dp.frontendFreeSlots(fe.ring!) < entries.length) fail("EAGAIN", `the ring has ${dp.frontendFreeSlots(fe.ring!)} free slots`);
  dp.frontendQueue(fe.ring!, entries);
  const notify = dp.frontendPush(fe.ring!);
  if (notify) evtchnSend(ctx, domid, fe.port);
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk) ?? EMPTY_RING;
  const writes = entries.filter((e) => e[0] !== BLKIF_OP.READ).length;
  BLKIF_RING.update(ctx.store, rk, ring, { pushed: ring.pushed + entries.length, notifyBack: ring.notifyBack || notify, writes: ring.writes + writes });
  return notify;
}

function setReqProd(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown, value: unknown): void {
  const { fe } = connected(ctx.store, domid, vdev);
  const v = u32(value, "req_prod");
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  k.dp!.guestWrite(domid, gfnOf(fe.slot, 0), 0, b);
  evtchnSend(ctx, domid, fe.port);
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk) ?? EMPTY_RING;
  BLKIF_RING.update(ctx.store, rk, ring, { pushed: v, notifyBack: true, tampered: ring.tampered + 1 });
}

function responsesReady(domid: number, vdev: unknown): (store: Store) => boolean {
  return (store) => {
    let fe: BlkfrontDevice | undefined;
    try {
      fe = deviceOf(store, domid, vdev).fe;
    } catch {
      return true;
    }
    if (!fe || fe.phase !== "connected" || fe.broken || fe.ring === null) return true;
    const be = BLKRING.get(store, BLKRING.key(fe.backendId, domid, fe.devid));
    if (be?.bogus) return true;
    return frontEventReady(store, domid, fe.port);
  };
}

function responses(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown): RingResponse[] {
  const { key, fe } = connected(ctx.store, domid, vdev);
  const dp = k.dp!;
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk);
  evtchnTake(ctx, domid, fe.port);
  if (ring) BLKIF_RING.update(ctx.store, rk, ring, { notifyFront: false });
  const got = dp.frontendConsume(fe.ring!);
  if (got === "broken") {
    BLKFRONT.update(ctx.store, key, fe, { broken: true });
    return fail("EIO", `the backend overran the ring of ${String(vdev)}`);
  }
  dp.frontendFinalCheck(fe.ring!);
  return got.map((r) => ({ id: Number(r.id), operation: r.operation, status: STATUS[r.status] ?? "ERROR" }));
}

function revokeGrant(ctx: StepContext, k: XenKernel, domid: number, vdev: unknown, page: unknown): boolean {
  const { fe } = connected(ctx.store, domid, vdev);
  if (page !== "ring" && (typeof page !== "number" || !Number.isInteger(page) || page < 0 || page >= DATA_PAGES)) fail("EINVAL", `page must be "ring" or 0..${DATA_PAGES - 1}`);
  const ref = refOf(fe.slot, page === "ring" ? 0 : (page as number) + 1);
  const dp = k.dp!;
  const entry = dp.readGrantEntry(domid, ref);
  const mapped = dp.grantPins(domid, ref) > 0;
  dp.writeGrantEntry(domid, ref, { ...entry, flags: 0 });
  const rk = BLKIF_RING.key(domid, fe.devid);
  const ring = BLKIF_RING.get(ctx.store, rk) ?? EMPTY_RING;
  BLKIF_RING.update(ctx.store, rk, ring, { tampered: ring.tampered + 1 });
  return mapped;
}

/** The steps of `sys.ring` for a process of domain `domid`. */
export function ringOps(k: XenKernel, domid: number) {
  return {
    indices: (vdev: unknown): Op<{ req_prod: number; req_event: number; rsp_prod: number; rsp_event: number }> => ({
      call: "ring.indices",
      args: [vdev],
      run: (ctx) => {
        const { fe } = connected(ctx.store, domid, vdev);
        BLKIF_RING.get(ctx.store, BLKIF_RING.key(domid, fe.devid));
        return k.dp!.ringHeader(domid, gfnOf(fe.slot, 0));
      },
    }),
    push: (vdev: unknown, requests: unknown): Op<boolean> => ({
      call: "ring.push",
      args: [vdev, requests],
      ready: whenConnected(domid, vdev),
      waitingFor: `${String(vdev)} to be connected`,
      run: (ctx) => push(ctx, k, domid, vdev, requests),
    }),
    setReqProd: (vdev: unknown, value: unknown): Op<void> => ({
      call: "ring.setReqProd",
      args: [vdev, value],
      ready: whenConnected(domid, vdev),
      waitingFor: `${String(vdev)} to be connected`,
      run: (ctx) => setReqProd(ctx, k, domid, vdev, value),
    }),
    responses: (vdev: unknown): Op<RingResponse[]> => ({
      call: "ring.responses",
      args: [vdev],
      ready: responsesReady(domid, vdev),
      waitingFor: `blkback's event on ${String(vdev)}`,
      run: (ctx) => responses(ctx, k, domid, vdev),
    }),
    revokeGrant: (vdev: unknown, page: unknown): Op<boolean> => ({
      call: "ring.revokeGrant",
      args: [vdev, page],
      ready: whenConnected(domid, vdev),
      waitingFor: `${String(vdev)} to be connected`,
      run: (ctx) => revokeGrant(ctx, k, domid, vdev, page),
    }),
  };
}

/** `world.ring(domain, vdev)`: the ring's counts and blkback's side, by peeking (looking is not a step). */
export function ringView(store: Store, domain: string, vdev: string): RingView | undefined {
  if (typeof domain !== "string" || typeof vdev !== "string") return undefined;
  const devid = vdevToDevid(vdev);
  if (devid === undefined) return undefined;
  let domid: number | undefined;
  for (let i = 1; domid === undefined && XEN_DOMAIN.peek(store, XEN_DOMAIN.key(i)) !== undefined; i++) if (XEN_DOMAIN.peek(store, XEN_DOMAIN.key(i))!.name === domain) domid = i;
  if (domid === undefined) return undefined;
  const ring = BLKIF_RING.peek(store, BLKIF_RING.key(domid, devid));
  if (!ring) return undefined;
  const fe = BLKFRONT.peek(store, BLKFRONT.key(domid, devid));
  const be = fe ? BLKRING.peek(store, BLKRING.key(fe.backendId, domid, devid)) : undefined;
  const backend = be?.bogus ? "halted" : be?.dpRing !== null && be?.dpRing !== undefined ? "connected" : "disconnected";
  return { pushed: ring.pushed, answered: ring.answered, backend };
}
