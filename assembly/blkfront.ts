// The frontend's half of a blkif ring, as Linux xen-blkfront drives it:
// initialise the shared page, queue requests at req_prod_pvt, publish them
// with push-and-check, consume responses with the final check, and refuse a
// backend that publishes more responses than there are requests out.
// A guest that misbehaves does not use these: it writes its own memory
// directly (guestWrite), which is exactly what a hostile frontend can do.

import { allocFrames, frameAddr, rd32, touch, wr32 } from "./arena";
import { guestFrame, domainIsLive } from "./domain";
import { rawAlloc } from "./memory";
import { RingView, ringEntries, pushAndCheckNotify, finalCheckForResponses, responseProdOverflow } from "./ring";
import { entryBytes } from "./blkif";
import {
  PAGE_SIZE, MAX_RING_PAGE_ORDER, RING_REQ_PROD, RING_REQ_EVENT, RING_RSP_PROD, RING_RSP_EVENT,
  ABI_X86_32, RESPONSE_ID, RESPONSE_OPERATION, RESPONSE_STATUS, RESPONSE_OUT_BYTES,
  MAX_FRONT_RINGS, FRONT_FREE, FRONT_LIVE, FRONT_BROKEN, FRONT_ERR_ARGS, FRONT_ERR_FULL,
} from "./abi";

const RECORD_BYTES: u32 = 128;

const F_STATE = 0;
const F_DOM = 4;
const F_ORDER = 8;
const F_ENTRIES = 12;
const F_ABI = 16;
const F_REQ_PROD_PVT = 20;
const F_RSP_CONS = 24;
const F_GFNS = 64; // u32 x 16

let table: u32 = 0;
let view: RingView = new RingView();
let slotBuf: usize = 0; // private copy of one response slot

export function blkfrontInit(): bool {
  table = allocFrames((MAX_FRONT_RINGS * RECORD_BYTES) >> 12);
  slotBuf = rawAlloc(128, 16);
  return table != 0 && slotBuf != 0;
}

// @ts-ignore: decorator
@inline function recFrame(r: u32): u32 { return table + ((r * RECORD_BYTES) >> 12); }
// @ts-ignore: decorator
@inline function recOff(r: u32): u32 { return (r * RECORD_BYTES) & 4095; }
function get(r: u32, field: u32): u32 { return rd32(recFrame(r), recOff(r) + field); }
function set(r: u32, field: u32, v: u32): void { wr32(recFrame(r), recOff(r) + field, v); }

export function frontendState(r: u32): u32 { return r < MAX_FRONT_RINGS ? get(r, F_STATE) : FRONT_FREE; }
export function frontendField(r: u32, field: u32): u32 { return get(r, field); }
export function frontendEntryBytes(r: u32): u32 { return entryBytes(get(r, F_ABI)); }

function loadView(r: u32): void {
  const dom = get(r, F_DOM);
  const pages: u32 = 1 << get(r, F_ORDER);
  for (let i: u32 = 0; i < pages; i++) unchecked(view.frames[i] = guestFrame(dom, get(r, F_GFNS + (i << 2))));
  view.pages = pages;
  view.entries = get(r, F_ENTRIES);
  view.entryBytes = entryBytes(get(r, F_ABI));
}

/**
 * SHARED_RING_INIT + FRONT_RING_INIT on the guest pages `gfns` (2^order u32
 * at `gfns`). Returns the ring id, FRONT_ERR_ARGS or FRONT_ERR_FULL.
 */
export function frontendInit(dom: u32, gfns: usize, order: u32, abi: u32): i32 {
  if (!domainIsLive(dom) || order > MAX_RING_PAGE_ORDER || abi > ABI_X86_32) return FRONT_ERR_ARGS;
  const pages: u32 = 1 << order;
  for (let i: u32 = 0; i < pages; i++) if (guestFrame(dom, load<u32>(gfns + (i << 2))) == 0) return FRONT_ERR_ARGS;
  let r: u32 = 0;
  while (r < MAX_FRONT_RINGS && get(r, F_STATE) != FRONT_FREE) r++;
  if (r == MAX_FRONT_RINGS) return FRONT_ERR_FULL;
  set(r, F_STATE, FRONT_LIVE);
  set(r, F_DOM, dom);
  set(r, F_ORDER, order);
  set(r, F_ENTRIES, ringEntries(order, entryBytes(abi)));
  set(r, F_ABI, abi);
  set(r, F_REQ_PROD_PVT, 0);
  set(r, F_RSP_CONS, 0);
  for (let i: u32 = 0; i < pages; i++) {
    const gfn = load<u32>(gfns + (i << 2));
    set(r, F_GFNS + (i << 2), gfn);
    const f = guestFrame(dom, gfn);
    touch(f);
    memory.fill(frameAddr(f), 0, PAGE_SIZE);
  }
  loadView(r);
  view.wr(RING_REQ_EVENT, 1);
  view.wr(RING_RSP_EVENT, 1);
  return <i32>r;
}

export function frontendFree(r: u32): i32 {
  if (frontendState(r) == FRONT_FREE) return -1;
  touch(recFrame(r));
  memory.fill(frameAddr(recFrame(r)) + recOff(r), 0, RECORD_BYTES);
  return 0;
}

/** A destroyed guest's frontend rings go with it (the backend may still map the pages). */
export function frontendFreeAllOf(domid: u32): void {
  for (let r: u32 = 0; r < MAX_FRONT_RINGS; r++) {
    if (get(r, F_STATE) != FRONT_FREE && get(r, F_DOM) == domid) frontendFree(r);
  }
}

/** RING_FREE_REQUESTS. */
export function frontendFreeSlots(r: u32): u32 {
  return get(r, F_ENTRIES) - (get(r, F_REQ_PROD_PVT) - get(r, F_RSP_CONS));
}

/**
 * Copies `count` requests (entry-sized, back to back at `src`) into the ring
 * at req_prod_pvt, as many as there is room for. Returns how many were queued.
 */
export function frontendQueue(r: u32, src: usize, count: u32): u32 {
  if (frontendState(r) != FRONT_LIVE) return 0;
  loadView(r);
  const n = min(count, frontendFreeSlots(r));
  let prod = get(r, F_REQ_PROD_PVT);
  const bytes = view.entryBytes;
  for (let i: u32 = 0; i < n; i++) {
    view.copyIn(prod, 0, src + i * bytes, bytes);
    prod++;
  }
  set(r, F_REQ_PROD_PVT, prod);
  return n;
}

/** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: true when the backend must be notified. */
export function frontendPush(r: u32): bool {
  if (frontendState(r) != FRONT_LIVE) return false;
  loadView(r);
  return pushAndCheckNotify(view, RING_REQ_PROD, RING_REQ_EVENT, get(r, F_REQ_PROD_PVT));
}

/**
 * Consumes up to `max` responses into `dst` (RESPONSE_OUT_BYTES each) and
 * returns how many, or -1 once the backend has proven bogus.
 */
export function frontendConsume(r: u32, dst: usize, max: u32): i32 {
  const state = frontendState(r);
  if (state == FRONT_BROKEN) return -1;
  if (state != FRONT_LIVE) return 0;
  loadView(r);
  const rp = view.rd(RING_RSP_PROD);
  let cons = get(r, F_RSP_CONS);
  if (responseProdOverflow(view.entries, rp, cons)) {
    set(r, F_STATE, FRONT_BROKEN);
    return -1;
  }
  let n: u32 = 0;
  while (cons != rp && n < max) {
    // Read through a private copy so the backend cannot change it under us.
    view.copyOutPart(cons, 0, slotBuf, RESPONSE_STATUS + sizeof<i16>()); // id, operation, status: all a response carries
    const out = dst + n * RESPONSE_OUT_BYTES;
    memory.fill(out, 0, RESPONSE_OUT_BYTES);
    store<u64>(out + RESPONSE_ID, load<u64>(slotBuf + RESPONSE_ID));
    store<u8>(out + RESPONSE_OPERATION, load<u8>(slotBuf + RESPONSE_OPERATION));
    store<i16>(out + RESPONSE_STATUS, load<i16>(slotBuf + RESPONSE_STATUS));
    cons++;
    n++;
  }
  set(r, F_RSP_CONS, cons);
  return <i32>n;
}

/** RING_FINAL_CHECK_FOR_RESPONSES: true when more responses arrived meanwhile. */
export function frontendFinalCheck(r: u32): bool {
  if (frontendState(r) != FRONT_LIVE) return false;
  loadView(r);
  return finalCheckForResponses(view, get(r, F_RSP_CONS));
}

export const FIELD_REQ_PROD_PVT = F_REQ_PROD_PVT;
export const FIELD_RSP_CONS = F_RSP_CONS;
export const FIELD_ENTRIES = F_ENTRIES;
