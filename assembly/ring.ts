// The blkif shared ring (xen/include/public/io/ring.h, blkif instance).
//
//   offset  size  field       written by
//        0     4  req_prod    frontend
//        4     4  req_event   backend
//        8     4  rsp_prod    backend
//       12     4  rsp_event   frontend
//       16    48  padding     (pvt union, unused by blk)
//       64   n*E  ring[]      requests and responses share the slots
//
// E is 112 bytes in the native x86_64 ABI (108 in the x86_32 ABI); a ring of
// 2^order pages holds n = 32 << order entries. Indices are free-running u32
// that wrap modulo 2^32 and are masked with n - 1 only to find a slot.
//
// Who may notify whom: a producer publishes with push-and-check, which says
// to notify only when the consumer's event index lies in (old, new]. A
// consumer that runs dry does the final check: ask to be woken by the next
// item (event = cons + 1), then look again, which closes the window in which
// an item published just before the event write would be missed.
//
// Neither side trusts the other: producer indices are sanity-checked
// (RING_REQUEST_PROD_OVERFLOW and the response-side equivalent), and every
// slot is copied into private memory before it is looked at.

import { frameAddr, touch } from "./arena";
import { copySmall } from "./memory";
import {
  PAGE_SIZE, RING_HEADER_BYTES, RING_REQ_PROD, RING_REQ_EVENT, RING_RSP_PROD, RING_RSP_EVENT, MAX_RING_PAGE_ORDER,
} from "./abi";

export const MAX_RING_PAGES: u32 = 1 << MAX_RING_PAGE_ORDER;

/** nr_ents = round_down_to_power_of_2((4096 << order - 64) / entry size). */
export function ringEntries(order: u32, entryBytes: u32): u32 {
  const raw = ((PAGE_SIZE << order) - RING_HEADER_BYTES) / entryBytes;
  return raw == 0 ? 0 : (<u32>1 << (31 - clz(raw)));
}

/** A ring as one side sees it: the arena frames of its pages, in order. */
export class RingView {
  frames: StaticArray<u32> = new StaticArray<u32>(MAX_RING_PAGES);
  pages: u32 = 0;
  entries: u32 = 0;
  entryBytes: u32 = 0;

  rd(off: u32): u32 { return load<u32>(frameAddr(unchecked(this.frames[0])) + off); }
  wr(off: u32, v: u32): void {
    const f = unchecked(this.frames[0]);
    touch(f);
    store<u32>(frameAddr(f) + off, v);
  }

  /** Byte offset of the slot of index i within the ring's pages. */
  slotOffset(i: u32): u32 { return RING_HEADER_BYTES + (i & (this.entries - 1)) * this.entryBytes; }

  /** Copies slot i out to private memory (it may straddle two pages). */
  copyOut(i: u32, dst: usize): void { this.copyOutPart(i, 0, dst, this.entryBytes); }

  /** Copies `n` bytes of slot i from `at` out to private memory. */
  copyOutPart(i: u32, at: u32, dst: usize, n: u32): void {
    let off = this.slotOffset(i) + at;
    while (n > 0) {
      const inPage = off & (PAGE_SIZE - 1);
      const k = min(n, PAGE_SIZE - inPage);
      copySmall(dst, frameAddr(unchecked(this.frames[off >> 12])) + inPage, k);
      dst += k; off += k; n -= k;
    }
  }

  /** Copies `len` bytes from private memory into slot i at `at`. */
  copyIn(i: u32, at: u32, src: usize, len: u32): void {
    let off = this.slotOffset(i) + at;
    while (len > 0) {
      const inPage = off & (PAGE_SIZE - 1);
      const k = min(len, PAGE_SIZE - inPage);
      const f = unchecked(this.frames[off >> 12]);
      touch(f);
      copySmall(frameAddr(f) + inPage, src, k);
      src += k; off += k; len -= k;
    }
  }
}

/** RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY: publish `newProd`, say whether to notify. */
export function pushAndCheckNotify(ring: RingView, prodOff: u32, eventOff: u32, newProd: u32): bool {
  const old = ring.rd(prodOff);
  ring.wr(prodOff, newProd); // wmb before, mb after: the model is sequentially consistent
  return newProd - ring.rd(eventOff) < newProd - old;
}

/** Requests the backend may consume: min(req_prod - req_cons, free response slots). */
export function unconsumedRequests(ring: RingView, reqCons: u32, rspProdPvt: u32): u32 {
  const req = ring.rd(RING_REQ_PROD) - reqCons;
  const rsp = ring.entries - (reqCons - rspProdPvt);
  return req < rsp ? req : rsp;
}

/** RING_FINAL_CHECK_FOR_REQUESTS: true when there is more work after asking to be woken. */
export function finalCheckForRequests(ring: RingView, reqCons: u32, rspProdPvt: u32): bool {
  if (unconsumedRequests(ring, reqCons, rspProdPvt) != 0) return true;
  ring.wr(RING_REQ_EVENT, reqCons + 1);
  return unconsumedRequests(ring, reqCons, rspProdPvt) != 0;
}

/** RING_FINAL_CHECK_FOR_RESPONSES, the frontend's twin of the above. */
export function finalCheckForResponses(ring: RingView, rspCons: u32): bool {
  if (ring.rd(RING_RSP_PROD) != rspCons) return true;
  ring.wr(RING_RSP_EVENT, rspCons + 1);
  return ring.rd(RING_RSP_PROD) != rspCons;
}

/** RING_REQUEST_PROD_OVERFLOW: the frontend published more requests than the ring holds. */
export function requestProdOverflow(entries: u32, reqProd: u32, rspProdPvt: u32): bool {
  return reqProd - rspProdPvt > entries;
}

/** RING_REQUEST_CONS_OVERFLOW: consuming one more would overrun unanswered slots. */
export function requestConsOverflow(entries: u32, reqCons: u32, rspProdPvt: u32): bool {
  return reqCons - rspProdPvt >= entries;
}

/** The frontend's check on the backend: more responses than it has requests out. */
export function responseProdOverflow(entries: u32, rspProd: u32, rspCons: u32): bool {
  return rspProd - rspCons > entries;
}
