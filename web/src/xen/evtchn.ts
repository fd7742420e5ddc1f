// Event channels (xen/include/public/event_channel.h [V numbers];
// xen/common/event_channel.c [M semantics]; docs/xen-protocol.md, "Event channels").
//
//   "evtchn:<domid>:<port>"  { state, remoteDom, remotePort?, pending, masked }
//   "evtchnd:<domid>"        { ports }: the ports in use (allocation takes the lowest free one, from 1)
//
//   EVTCHNOP_alloc_unbound  (remote_dom) → a port in state unbound that only remote_dom may bind
//   EVTCHNOP_bind_interdomain (remote_dom, remote_port) → a local port; both ends interdomain.
//                           EINVAL unless the remote port is unbound for this caller. The new
//                           local port starts pending: Xen sets it "conservatively", since
//                           notifications sent to the unbound end were lost.
//   EVTCHNOP_send           sets the peer's pending bit. Events carry no data and coalesce: a send
//                           while the peer is pending changes nothing. Unbound: silently dropped.
//   EVTCHNOP_close          frees the port; an interdomain peer returns to unbound (re-bindable by us).
//   EVTCHNOP_unmask         clears the mask; a pending event is then delivered.
//
// Delivery (the upcall) is a step of the kernel thread bound to the port:
// blocked until the port is pending and unmasked, it clears the pending
// bit and runs the handler (`evtchnUpcallStep`). Two sends before that step
// are one upcall.

import type { Op, StepContext } from "../sim/op";
import { SysError } from "../sim/op";
import { declareKind } from "../sim/object-kind";
import type { Store } from "../sim/store";
import type { Errno } from "../linux/errno";
import { domainAlive } from "./domain";

/** EVTCHNSTAT_*: closed 0, unbound 1, interdomain 2 (pirq, virq and ipi are not modelled). */
export type EvtchnState = "closed" | "unbound" | "interdomain";

export interface EvtchnPort {
  state: "unbound" | "interdomain";
  remoteDom: number;
  /** The peer's port, when interdomain. */
  remotePort?: number;
  pending: boolean;
  masked: boolean;
}

interface PortsInUse {
  ports: number[];
}

/** 2-level ABI, 64-bit guest [M]. */
export const EVTCHN_PORTS = 4096;

export const EVTCHN_PORT = declareKind<EvtchnPort, [domid: number, port: number]>("evtchn", (domid, port) => `${domid}:${port}`);
const EVTCHN_USED = declareKind<PortsInUse, [domid: number]>("evtchnd", (domid) => String(domid));

function fail(errno: Errno, message: string): never {
  throw new SysError(errno, message);
}

function getPort(store: Store, domid: number, port: unknown): EvtchnPort {
  if (typeof port !== "number" || !Number.isInteger(port) || port <= 0 || port >= EVTCHN_PORTS) fail("EINVAL", `bad event channel port ${String(port)}`);
  const p = EVTCHN_PORT.get(store, EVTCHN_PORT.key(domid, port));
  if (!p) fail("EINVAL", `event channel port ${port} of domain ${domid} is closed`);
  return p;
}

function allocPort(ctx: StepContext, domid: number): number {
  const used = EVTCHN_USED.get(ctx.store, EVTCHN_USED.key(domid))?.ports ?? [];
  let port = 1;
  for (const p of used) if (p === port) port++;
  if (port >= EVTCHN_PORTS) fail("ENOSPC", `domain ${domid} has no free event channel port`);
  EVTCHN_USED.set(ctx.store, EVTCHN_USED.key(domid), { ports: [...used, port].sort((a, b) => a - b) });
  return port;
}

function freePort(ctx: StepContext, domid: number, port: number): void {
  const used = EVTCHN_USED.get(ctx.store, EVTCHN_USED.key(domid))?.ports ?? [];
  const rest = used.filter((p) => p !== port);
  if (rest.length > 0) EVTCHN_USED.set(ctx.store, EVTCHN_USED.key(domid), { ports: rest });
  else EVTCHN_USED.delete(ctx.store, EVTCHN_USED.key(domid));
  EVTCHN_PORT.delete(ctx.store, EVTCHN_PORT.key(domid, port));
}

function liveDomain(store: Store, domid: unknown): number {
  if (typeof domid !== "number" || !domainAlive(store, domid)) fail("ESRCH", `no domain ${String(domid)}`);
  return domid;
}

/** EVTCHNOP_alloc_unbound: a port of `domid` that `remoteDom` may bind. */
export function evtchnAllocUnbound(ctx: StepContext, domid: number, remoteDom: unknown): number {
  const remote = liveDomain(ctx.store, remoteDom);
  const port = allocPort(ctx, domid);
  EVTCHN_PORT.set(ctx.store, EVTCHN_PORT.key(domid, port), { state: "unbound", remoteDom: remote, pending: false, masked: false });
  return port;
}

/** EVTCHNOP_bind_interdomain: binds `remotePort` of `remoteDom`; returns the local port. */
export function evtchnBindInterdomain(ctx: StepContext, domid: number, remoteDom: unknown, remotePort: unknown): number {
  const rd = liveDomain(ctx.store, remoteDom);
  const r = getPort(ctx.store, rd, remotePort);
  if (r.state !== "unbound" || r.remoteDom !== domid) fail("EINVAL", `port ${String(remotePort)} of domain ${rd} is not unbound for domain ${domid}`);
  const port = allocPort(ctx, domid);
  EVTCHN_PORT.set(ctx.store, EVTCHN_PORT.key(domid, port), { state: "interdomain", remoteDom: rd, remotePort: remotePort as number, pending: true, masked: false });
  EVTCHN_PORT.update(ctx.store, EVTCHN_PORT.key(rd, remotePort as number), r, { state: "interdomain", remotePort: port });
  return port;
}

/** EVTCHNOP_send: marks the peer pending (no change if it already is). */
export function evtchnSend(ctx: StepContext, domid: number, port: unknown): void {
  const p = getPort(ctx.store, domid, port);
  if (p.state !== "interdomain") return; // unbound: dropped
  const key = EVTCHN_PORT.key(p.remoteDom, p.remotePort!);
  const peer = EVTCHN_PORT.get(ctx.store, key)!;
  if (peer.pending) return;
  EVTCHN_PORT.update(ctx.store, key, peer, { pending: true });
  ctx.emit({ kind: "evtchn", from: domid, port, to: p.remoteDom, remotePort: p.remotePort });
}

/** EVTCHNOP_close. */
export function evtchnClose(ctx: StepContext, domid: number, port: unknown): void {
  const p = getPort(ctx.store, domid, port);
  if (p.state === "interdomain") {
    const key = EVTCHN_PORT.key(p.remoteDom, p.remotePort!);
    const peer = EVTCHN_PORT.get(ctx.store, key);
    if (peer) EVTCHN_PORT.set(ctx.store, key, { state: "unbound", remoteDom: domid, pending: peer.pending, masked: peer.masked });
  }
  freePort(ctx, domid, port as number);
}

export function evtchnMask(ctx: StepContext, domid: number, port: unknown): void {
  const p = getPort(ctx.store, domid, port);
  if (!p.masked) EVTCHN_PORT.update(ctx.store, EVTCHN_PORT.key(domid, port as number), p, { masked: true });
}

export function evtchnUnmask(ctx: StepContext, domid: number, port: unknown): void {
  const p = getPort(ctx.store, domid, port);
  if (p.masked) EVTCHN_PORT.update(ctx.store, EVTCHN_PORT.key(domid, port as number), p, { masked: false });
}

/** EVTCHNOP_status: closed for a port not in use. */
export function evtchnStatus(store: Store, domid: number, port: number): { state: EvtchnState; remoteDom?: number; remotePort?: number } {
  const p = EVTCHN_PORT.get(store, EVTCHN_PORT.key(domid, port));
  if (!p) return { state: "closed" };
  return p.state === "interdomain" ? { state: p.state, remoteDom: p.remoteDom, remotePort: p.remotePort! } : { state: p.state, remoteDom: p.remoteDom };
}

/** The guard of an upcall: pending and not masked. */
export function evtchnDeliverable(store: Store, domid: number, port: number): boolean {
  const p = EVTCHN_PORT.get(store, EVTCHN_PORT.key(domid, port));
  return p !== undefined && p.pending && !p.masked;
}

/** Takes a pending event (the upcall clears the bit); false if none was deliverable. */
export function evtchnTake(ctx: StepContext, domid: number, port: number): boolean {
  const p = EVTCHN_PORT.get(ctx.store, EVTCHN_PORT.key(domid, port));
  if (!p || !p.pending || p.masked) return false;
  EVTCHN_PORT.update(ctx.store, EVTCHN_PORT.key(domid, port), p, { pending: false });
  return true;
}

/** The upcall as a step of the bound kernel thread: waits until deliverable, clears pending, runs the handler. */
export function evtchnUpcallStep<R>(domid: number, port: number, handle: (ctx: StepContext) => R, call = "event channel upcall"): Op<R> {
  return {
    call,
    args: [domid, port],
    waitingFor: `an event on port ${port} of domain ${domid}`,
    ready: (store) => evtchnDeliverable(store, domid, port),
    run: (ctx) => {
      evtchnTake(ctx, domid, port);
      return handle(ctx);
    },
  };
}

/** Every port of a dying domain is closed (their peers return to unbound). */
export function evtchnCloseAll(ctx: StepContext, domid: number): void {
  for (const port of EVTCHN_USED.get(ctx.store, EVTCHN_USED.key(domid))?.ports ?? []) evtchnClose(ctx, domid, port);
}
