// What the store knows of one blkif ring shared by a frontend and a backend
// (xen/include/public/io/ring.h). The ring itself, its entries and the
// granted pages live in the WebAssembly data plane (assembly/ring.ts); this
// object mirrors what each side did to it, so that footprints see a push
// and a batch conflict, and fingerprints tell apart states whose rings
// differ:
//
//   frontend: queue requests, push-and-check          -> pushed += n, notifyBack if the push said so
//   backend:  a batch (do_block_io_op), final check   -> notifyBack cleared; inflight += answered; failed
//   backend:  the batch's bios complete                -> inflight = 0; notifyFront if the push said so
//   frontend: consume responses                        -> notifyFront cleared
//
// The notifications themselves are event channels (evtchn.ts): blkfront's
// port and the one blkback bound to it. `notifyBack` / `notifyFront` mirror
// their pending bits for the views; the ports decide who may run.

import { declareKind } from "../sim/object-kind";

export interface BlkifRing {
  /** Requests the frontend has pushed (free-running). */
  pushed: number;
  /** Responses the backend has published (free-running). */
  answered: number;
  /** Mirror: the backend's port is pending (the frontend notified). */
  notifyBack: boolean;
  /** Mirror: the frontend's port is pending (the backend notified). */
  notifyFront: boolean;
  /** Write requests pushed and not yet taken by a batch: that batch changes image data. */
  writes: number;
  /** The last batch's push-and-check said to notify: done when its bios complete. */
  completionNotify: boolean;
  /** Responses that were not BLKIF_RSP_OKAY (their status is in the data plane; states must differ by it). */
  failed: number;
  /**
   * Raw writes of the guest outside blkfront (sys.ring: a stored req_prod,
   * a revoked grant): data-plane changes that fingerprints must tell apart.
   */
  tampered: number;
}

export const BLKIF_RING = declareKind<BlkifRing, [frontDomid: number, devid: number]>(
  "blkif",
  (frontDomid, devid) => `${frontDomid}:${devid}`,
  (tail) => tail.split(":").map(Number) as [number, number],
);

export const EMPTY_RING: BlkifRing = { pushed: 0, answered: 0, notifyBack: false, notifyFront: false, writes: 0, completionNotify: false, failed: 0, tampered: 0 };
