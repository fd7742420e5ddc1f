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
import { ERRNO } from "../linux/errno";
import { xenbusGather } from "./xenbus-scanf";
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

/**
 * xenbus_read_driver_state: xenbus_gather "%d", so a missing node or one
 * that converts nothing is Unknown, and any other int comes back as it is
 * (a guest's "9" or "-1" is a state no driver knows: its switch decides).
 */
export function readState(xs: XsConn, dir: string): number {
  const r = xenbusGather(xs, dir, [["state", "%d"]]);
  return r.ok ? Number(r.values[0]) : XenbusState.Unknown;
}

/** A device's other end as xenbus_read_otherend_details read it. */
export interface Otherend {
  /** otherend_id ("%i", an int): every use is as a domid_t, so it is kept truncated to 16 bits as those uses do. */
  id: number;
  /** otherend: the other end's directory. */
  path: string;
}

/**
 * xenbus_read_otherend_details (drivers/xen/xenbus/xenbus_probe.c): the
 * id node with "%i" and the path node as it is, in one xenbus_gather; the
 * path must be non-empty (and exist: not modelled, below). A failure is
 * xenbus_dev_fatal and the probe ends (undefined).
 */
export function readOtherendDetails(store: Store, xs: XsConn, nodename: string, idNode: string, pathNode: string): Otherend | undefined {
  const r = xenbusGather(xs, nodename, [[idNode, "%i"], [pathNode, null]]);
  if (!r.ok) {
    devFatal(store, xs, nodename, -r.err, `reading other end details from ${nodename}`);
    return undefined;
  }
  const path = r.values[1] as string;
  // Not modelled: the xenbus_exists check of a non-empty path. Listing (or reading) the other
  // end's directory would make each end's probe depend on the other end creating its keys, and
  // the explorer would order steps that commute (measured: 1 to 3% more states in every Xen
  // lesson). A path that does not exist instead gives a watch on a missing state node, Unknown:
  // blkback unregisters the device, blkfront waits.
  if (path.length === 0) {
    devFatal(store, xs, nodename, ERRNO.ENOENT, `unable to read other end from ${nodename}.  missing or inaccessible.`);
    return undefined;
  }
  return { id: Number(BigInt.asUintN(16, r.values[0] as bigint)), path };
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

/**
 * xenbus_dev_fatal: "<err> <message>" in the error node, then Closing.
 * `err` is what xenbus_va_dev_error prints, the negation of what the
 * driver passes: a positive errno for the usual negative error, and a
 * negative number where a driver passes a positive count (blkback's "-1
 * unknown fe protocol").
 */
export function devFatal(store: Store, xs: XsConn, nodename: string, err: number, message: string): void {
  xs.write(errorPath(xs.domid, nodename), `${err} ${message}`);
  switchDevState(store, xs, nodename, XenbusState.Closing);
}
