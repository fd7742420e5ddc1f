// The world after every step of a trace, for the page's views (devices,
// xenstore, blkif rings). Runs in the sandbox: it replays the trace's
// schedule once on a fresh execution and looks at the store (and the data
// plane, for the rings) after each step, with `peek`, which records nothing.
//
// Cheap by construction: a view is recomputed only after a step that wrote
// one of the objects it reads (the step's footprint says which), and an
// unchanged view reuses its last frame. The page never recomputes: it
// indexes the frames.

import type { BuiltScenario } from "../api/build";
import { decodeRequest, LAYOUT, RESPONSE_OFFSETS, RING_HEADER_BYTES, statusName, opName, type BlkifAbi } from "../core/abi";
import type { DataPlane } from "../core/data-plane";
import { deviceViews } from "../linux/views";
import { DISK, DM, LOOP, type Gendisk } from "../linux/objects";
import { DivergenceError, Execution, type StepRecord, type Transition } from "../sim/execution";
import type { AnyObjectKind } from "../sim/object-kind";
import type { Store } from "../sim/store";
import { BLKIF_RING } from "../xen/blkif-ring";
import { BLKBACK, BLKRING, type BlkbackRing } from "../xen/blkback";
import { BLKFRONT, type BlkfrontDevice } from "../xen/blkfront";
import { EVTCHN_PORT } from "../xen/evtchn";
import { xsPeek, type XsNode } from "../xen/xenstore";
import { XS_NODE } from "../xen/xenstore/node";
import type { DeviceRow, DomainDevices, RingSlot, RingView, WorldFrames, XsNodeView } from "./world-types";

/** Store kinds the device view reads. */
const DEVICE_KINDS: readonly AnyObjectKind[] = [DISK, LOOP, DM];
/** Store kinds a ring view reads; the data plane's indices move with the ring mirror (BLKIF_RING). */
const RING_KINDS: readonly AnyObjectKind[] = [BLKIF_RING, BLKFRONT, BLKBACK, EVTCHN_PORT, XS_NODE];

function touches(writes: Iterable<string>, kinds: readonly AnyObjectKind[]): boolean {
  for (const w of writes) if (kinds.some((k) => k.is(w))) return true;
  return false;
}

export function devicesOf(store: Store, domains: readonly string[]): DomainDevices[] {
  const out: DomainDevices[] = [];
  const disks = new Map<string, Gendisk>();
  for (const key of DISK.peekList(store)) {
    const disk = DISK.peek(store, key);
    if (disk?.registered && disk.live) disks.set(`${DISK.scopeOf(key)}/${disk.name}`, disk);
  }
  for (const d of domains) {
    const devices: DeviceRow[] = deviceViews(store, d).map((v) => {
      const disk = disks.get(`${d}/${v.name}`);
      const row: DeviceRow = {
        name: v.name, majmin: `${v.major}:${v.minor}`, diskseq: v.diskseq, driver: v.driver, sectors: v.sectors, readOnly: v.readOnly,
        openers: v.openers, state: v.state, holders: disk ? [...disk.holders].sort() : [],
      };
      if (v.backing !== undefined) row.backing = v.backing;
      if (v.dmName !== undefined) row.dmName = v.dmName;
      if (disk?.claim) row.claim = disk.claim.count > 1 ? `${disk.claim.holder} ×${disk.claim.count}` : disk.claim.holder;
      return row;
    });
    if (devices.length > 0) out.push({ domain: d, devices });
  }
  return out;
}

function nodeView(n: XsNode): XsNodeView {
  return { value: n.value, perms: n.perms, children: n.children };
}

export function xenstoreTree(store: Store): Record<string, XsNodeView> {
  const out: Record<string, XsNodeView> = {};
  for (const key of XS_NODE.peekList(store)) {
    const n = XS_NODE.peek(store, key);
    if (n) out[XS_NODE.tail(key)] = nodeView(n);
  }
  return out;
}

function ringsOf(store: Store, ringKeys: Iterable<string>, dp: DataPlane | null, domains: readonly string[]): RingView[] {
  const out: RingView[] = [];
  for (const key of [...ringKeys].sort()) {
    const mirror = BLKIF_RING.peek(store, key);
    if (!mirror) continue;
    const [frontDomid, devid] = BLKIF_RING.parts(key);
    const fe = BLKFRONT.peek(store, BLKFRONT.key(frontDomid, devid));
    const backDomid = fe?.backendId ?? 0;
    const be = BLKBACK.peek(store, BLKBACK.key(backDomid, frontDomid, devid));
    const view: RingView = {
      id: `${domains[frontDomid] ?? `dom${frontDomid}`}/${devid}`,
      frontend: { domain: domains[frontDomid] ?? `dom${frontDomid}`, domid: frontDomid, nodename: fe?.nodename ?? "" },
      backend: { domain: domains[backDomid] ?? `dom${backDomid}`, domid: backDomid, nodename: be?.nodename ?? fe?.backend ?? "" },
      entries: 0,
      notifyBack: mirror.notifyBack,
      notifyFront: mirror.notifyFront,
      pushed: mirror.pushed,
      answered: mirror.answered,
      slots: [],
    };
    if (dp && fe && fe.ring !== null) readDataPlane(store, dp, view, fe, BLKRING.peek(store, BLKRING.key(backDomid, frontDomid, devid)));
    out.push(view);
  }
  return out;
}

/** The indices as the data plane holds them, and the entries in use, read from the guest's ring page. */
function readDataPlane(store: Store, dp: DataPlane, view: RingView, fe: BlkfrontDevice, be: BlkbackRing | undefined): void {
  const domid = view.frontend.domid;
  const abi: BlkifAbi = be?.ring?.abi ?? "x86_64-abi";
  try {
    const f = dp.frontendIndices(fe.ring!);
    view.entries = f.entries;
    view.front = { req_prod_pvt: f.req_prod_pvt, rsp_cons: f.rsp_cons, state: f.state };
  } catch {
    return; // the ring was freed in the data plane before the store noticed: nothing to read
  }
  if (be?.dpRing !== null && be?.dpRing !== undefined) {
    try {
      const b = dp.backendIndices(be.dpRing);
      view.back = { req_cons: b.req_cons, rsp_prod_pvt: b.rsp_prod_pvt, state: b.state };
    } catch {
      /* disconnected */
    }
  }
  // The shared page is the one the frontend granted: ring-ref names the grant, the grant names the frame.
  const ref = Number(xsPeek(store, `${fe.nodename}/ring-ref`));
  let gfn: number | undefined;
  if (Number.isInteger(ref) && ref > 0) {
    try {
      gfn = dp.readGrantEntry(domid, ref).frame;
      view.shared = dp.ringHeader(domid, gfn);
    } catch {
      gfn = undefined;
    }
  }
  const front = view.front!;
  const reqProd = view.shared?.req_prod ?? front.req_prod_pvt;
  const rspProd = view.shared?.rsp_prod ?? front.rsp_cons;
  const reqCons = view.back?.req_cons ?? reqProd;
  const n = view.entries;
  if (n <= 0) return;
  const size = LAYOUT[abi].entry;
  const slots: RingSlot[] = [];
  for (let i = front.rsp_cons; (i - front.req_prod_pvt) >>> 0 !== 0 && slots.length < n; i = (i + 1) >>> 0) {
    const slot = i % n;
    const state: RingSlot["state"] = before(i, rspProd) ? "response" : before(i, reqCons) ? "taken" : before(i, reqProd) ? "request" : "queued";
    let text = "";
    if (gfn !== undefined) {
      try {
        const entry = dp.guestRead(domid, gfn, RING_HEADER_BYTES + slot * size, size);
        text = state === "response" ? responseText(entry) : requestText(entry, abi);
      } catch {
        text = "";
      }
    }
    slots.push({ index: i, slot, state, text });
  }
  view.slots = slots;
}

/** Free-running u32 indices: a comes before b. */
function before(a: number, b: number): boolean {
  return ((b - a) | 0) > 0;
}

function requestText(entry: Uint8Array, abi: BlkifAbi): string {
  const r = decodeRequest(entry, abi);
  const segs = r.nrSegments !== undefined ? `, ${r.nrSegments} seg${r.nrSegments === 1 ? "" : "s"}` : "";
  return `${r.operationName} id ${r.id} sector ${r.sector}${segs}`;
}

function responseText(entry: Uint8Array): string {
  const v = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  const id = v.getBigUint64(RESPONSE_OFFSETS.id, true);
  const op = v.getUint8(RESPONSE_OFFSETS.operation);
  const status = v.getInt16(RESPONSE_OFFSETS.status, true);
  return `${statusName(status)} (${opName(op)}) id ${id}`;
}

/** Records the views after each step of an execution. */
export class WorldRecorder {
  private readonly out: WorldFrames;
  private lastDevices = "";
  private lastRings = "";
  private readonly ringKeys = new Set<string>();

  constructor(private readonly store: Store, private readonly domains: readonly string[], private readonly dp: DataPlane | null) {
    this.out = {
      steps: 0,
      devices: { frames: [], at: [] },
      xenstore: { initial: xenstoreTree(store), changes: [] },
      rings: { frames: [], at: [] },
    };
    for (const key of BLKIF_RING.peekList(store)) this.ringKeys.add(key);
    this.pushDevices(devicesOf(store, domains));
    this.pushRings(ringsOf(store, this.ringKeys, dp, domains));
  }

  private pushDevices(d: DomainDevices[]): void {
    const text = JSON.stringify(d);
    if (text !== this.lastDevices || this.out.devices.frames.length === 0) {
      this.out.devices.frames.push(d);
      this.lastDevices = text;
    }
    this.out.devices.at.push(this.out.devices.frames.length - 1);
  }

  private pushRings(r: RingView[]): void {
    const text = JSON.stringify(r);
    if (text !== this.lastRings || this.out.rings.frames.length === 0) {
      this.out.rings.frames.push(r);
      this.lastRings = text;
    }
    this.out.rings.at.push(this.out.rings.frames.length - 1);
  }

  /** After a step: what it wrote decides which views to look at again. */
  record(rec: StepRecord): void {
    const writes = rec.footprint.writes;
    const s = this.store;
    const changes: [string, XsNodeView | null][] = [];
    for (const w of writes) {
      if (XS_NODE.is(w)) {
        const n = XS_NODE.peek(s, w);
        changes.push([XS_NODE.tail(w), n ? nodeView(n) : null]);
      } else if (BLKIF_RING.is(w)) {
        if (BLKIF_RING.peek(s, w) === undefined) this.ringKeys.delete(w);
        else this.ringKeys.add(w);
      }
    }
    changes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.out.xenstore.changes.push(changes);
    if (touches(writes, DEVICE_KINDS)) this.pushDevices(devicesOf(s, this.domains));
    else this.out.devices.at.push(this.out.devices.frames.length - 1);
    // The rings' indices live in the data plane, and move only in steps that also change a ring's mirror (blkif-ring.ts).
    if (touches(writes, RING_KINDS) && (this.ringKeys.size > 0 || this.lastRings !== "[]")) this.pushRings(ringsOf(s, this.ringKeys, this.dp, this.domains));
    else this.out.rings.at.push(this.out.rings.frames.length - 1);
    this.out.steps++;
  }

  finish(note?: string): WorldFrames {
    if (note) this.out.note = note;
    return this.out;
  }
}

/**
 * Replays `path` (a trace's whole schedule) on a fresh execution of the
 * built scenario and records the world after each step. `expect` (the
 * trace's calls) stops the recording at a step that does not match, with a
 * note, rather than showing another run's world.
 */
export async function recordWorld(built: BuiltScenario, path: readonly Transition[], expect?: readonly { call: string }[]): Promise<WorldFrames> {
  const exec = new Execution(built.spec);
  await exec.start();
  const domains = built.domains.map((d) => d.name);
  const rec = new WorldRecorder(exec.store, domains, built.machine.dp);
  for (let i = 0; i < path.length; i++) {
    const t = path[i]!;
    if (!exec.isEnabled(t.actor)) return rec.finish(`the views stop after step ${i}: replaying the trace, ${exec.actors[t.actor]?.who.name ?? "an actor"} could not move at step ${i + 1}`);
    let r: StepRecord;
    try {
      r = await exec.step(t);
    } catch (e) {
      const why = e instanceof DivergenceError ? "the script behaved differently" : e instanceof Error ? e.message : String(e);
      return rec.finish(`the views stop after step ${i}: replaying the trace failed at step ${i + 1} (${why})`);
    }
    rec.record(r);
    const want = expect?.[i];
    if (want && want.call !== r.call) return rec.finish(`the views stop at step ${i + 1}: the replay called ${r.call} where the trace has ${want.call}`);
  }
  return rec.finish();
}
