// The xenbus state machine shared by every split driver
// (xen/include/public/io/xenbus.h, drivers/xen/xenbus/xenbus_client.c).
// The protocol: docs/xen-protocol.md, "Xenbus states".
//
//   0 Unknown        what a reader gets when the `state` node is missing
//   1 Initialising   written by the toolstack at create
//   2 InitWait       backend: probed, waiting for the hotplug script / frontend
//   3 Initialised    frontend: ring and event channel published
//   4 Connected
//   5 Closing        detach asked, or a fatal error (xenbus_dev_fatal)
//   6 Closed
//   7 Reconfiguring, 8 Reconfigured   (unused by blk)
//
// A driver keeps its own state, dev->state (`xbdev:<nodename>`), and
// compares against it, never against the node, which others may write (the
// toolstack writes a backend's node itself on detach). It changes state with
// __xenbus_switch_state: nothing if dev->state already is the new state;
// otherwise a transaction that reads `state` first and, if the node is gone
// (the toolstack removed the device), aborts without writing: writing would
// re-create the deleted directory as a stale node (R5). dev->state takes the
// new value either way (the aborted transaction ends without error).
// xenbus_dev_fatal writes "<errno> <message>" to error/<nodename>/error,
// then switches to Closing.

import { declareKind } from "../sim/object-kind";
import type { Store } from "../sim/store";
import type { XsConn } from "./xs-conn";

export const XenbusState = {
  Unknown: 0,
  Initialising: 1,
  InitWait: 2,
  Initialised: 3,
  Connected: 4,
  Closing: 5,
  Closed: 6,
  Reconfiguring: 7,
  Reconfigured: 8,
} as const;
export type XenbusStateValue = (typeof XenbusState)[keyof typeof XenbusState];

export const STATE_NAMES = ["Unknown", "Initialising", "InitWait", "Initialised", "Connected", "Closing", "Closed", "Reconfiguring", "Reconfigured"] as const;

/** xenbus_read_driver_state: a missing or unparsable node is Unknown. */
export function readState(xs: XsConn, dir: string): number {
  const v = xs.read(`${dir}/state`);
  if (v === undefined) return XenbusState.Unknown;
  const n = Number.parseInt(v, 10);
  return Number.isInteger(n) && n >= 0 && n <= 8 ? n : XenbusState.Unknown;
}

/**
 * xenbus_switch_state: in one transaction, read `state`; if the node is
 * gone, abort and write nothing; otherwise write the new value. Returns
 * whether the state was written.
 */
export function switchState(xs: XsConn, dir: string, state: number): boolean {
  if (xs.read(`${dir}/state`) === undefined) return false;
  return xs.write(`${dir}/state`, String(state)) === undefined;
}

/** dev->state's object: the driver's own idea of a device's state. */
export const XBDEV = declareKind<number, [nodename: string]>("xbdev", (nodename) => nodename);

/** dev->state (Initialising until the driver changes it: xenbus_probe_node sets it so). */
export function devState(store: Store, nodename: string): number {
  return XBDEV.get(store, XBDEV.key(nodename)) ?? XenbusState.Initialising;
}

/**
 * __xenbus_switch_state: nothing when dev->state already is `state`;
 * otherwise switchState (the node, unless it is gone) and dev->state.
 * Returns whether the node was written. (A write that fails for another
 * reason would be xenbus_switch_fatal; a driver's own state node cannot
 * refuse its driver in the model.)
 */
export function switchDevState(store: Store, xs: XsConn, nodename: string, state: number): boolean {
  if (devState(store, nodename) === state) return false;
  const written = switchState(xs, nodename, state);
  XBDEV.set(store, XBDEV.key(nodename), state);
  return written;
}

/** The error node of a device: error/<nodename>/error under the driver's domain home. */
export function errorPath(domid: number, nodename: string): string {
  const rel = nodename.replace(/^\/local\/domain\/\d+\//, "");
  return `/local/domain/${domid}/error/${rel}/error`;
}

/** xenbus_dev_fatal: "<errno> <message>" in the error node, then Closing. `err` is the positive errno the driver passes. */
export function devFatal(store: Store, xs: XsConn, nodename: string, err: number, message: string): void {
  xs.write(errorPath(xs.domid, nodename), `${err} ${message}`);
  switchDevState(store, xs, nodename, XenbusState.Closing);
}
