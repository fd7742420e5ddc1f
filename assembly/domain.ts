// Domains as the data plane sees them: guest memory (a physical-to-machine
// table from guest frame numbers to arena frames) and the frames of the
// domain's grant table. Lifecycle decisions (who may be destroyed when) are
// the control plane's; the data plane only refuses what would corrupt memory.
//
// Simplification: guest frames are populated on first access rather than at
// domain creation, so a guest's memory costs nothing until used.

import { allocFrame, allocFrames, freeFrame, frameAddr, freshFramesLeft, rd32, touch, wr32 } from "./arena";
import {
  MAX_DOMAINS, MAX_GUEST_PAGES, MAX_GRANT_FRAMES, MAPTRACK_ENTRIES, DOM_FREE, DOM_LIVE,
  DOM_ERR_ARGS, DOM_ERR_NO_FRAMES,
} from "./abi";

/** Xen's private active entry is 16 bytes, so 4 frames of them per 512-entry shared frame. */
export const ACTIVE_FRAMES_PER_GRANT_FRAME: u32 = 4;

// Domain record, 64 bytes, in the domain table frame.
const D_STATE = 0;
const D_NR_PAGES = 4;
const D_P2M = 8; // first of ceil(nrPages / 1024) consecutive frames of u32 entries
const D_GRANT_FRAMES = 12; // number of shared grant-table frames (512 v1 entries each)
const D_GRANT_SHARED = 16; // first of D_GRANT_FRAMES consecutive frames
const D_GRANT_ACTIVE = 20; // Xen's private per-entry state, 8 bytes per entry
const D_MAPTRACK = 24; // this domain's mappings of other domains' grants, 16 bytes per handle
const D_MAPTRACK_FREE = 28; // free handle list head, as handle + 1 (0 = full)
const D_ACTIVE_PINS = 32; // total pins held by others on this domain's grants
const D_MAPS_HELD = 36; // handles in use in this domain's maptrack
export const DOMAIN_RECORD_BYTES: u32 = 64;

let domainTable: u32 = 0;

export function domainsInit(): bool {
  domainTable = allocFrame();
  return domainTable != 0;
}

// @ts-ignore: decorator
@inline function recOff(domid: u32): u32 { return domid * DOMAIN_RECORD_BYTES; }

export function domainState(domid: u32): u32 {
  return domid < MAX_DOMAINS ? rd32(domainTable, recOff(domid) + D_STATE) : DOM_FREE;
}
export function domainIsLive(domid: u32): bool { return domainState(domid) == DOM_LIVE; }
export function domainNrPages(domid: u32): u32 { return rd32(domainTable, recOff(domid) + D_NR_PAGES); }
export function domainGrantEntries(domid: u32): u32 { return rd32(domainTable, recOff(domid) + D_GRANT_FRAMES) << 9; }
export function grantSharedFrame(domid: u32, ref: u32): u32 { return rd32(domainTable, recOff(domid) + D_GRANT_SHARED) + (ref >> 9); }
export function grantActiveFrame(domid: u32, ref: u32): u32 { return rd32(domainTable, recOff(domid) + D_GRANT_ACTIVE) + (ref >> 8); }
export function maptrackFrame(domid: u32, handle: u32): u32 { return rd32(domainTable, recOff(domid) + D_MAPTRACK) + (handle >> 8); }

export function domainField(domid: u32, off: u32): u32 { return rd32(domainTable, recOff(domid) + off); }
export function setDomainField(domid: u32, off: u32, v: u32): void { wr32(domainTable, recOff(domid) + off, v); }
export const FIELD_MAPTRACK_FREE = D_MAPTRACK_FREE;
export const FIELD_ACTIVE_PINS = D_ACTIVE_PINS;
export const FIELD_MAPS_HELD = D_MAPS_HELD;

/** 0 on success, DOM_ERR_ARGS (bad arguments, domid in use) or DOM_ERR_NO_FRAMES. */
export function domainCreate(domid: u32, nrPages: u32, grantFrames: u32): i32 {
  if (domid >= MAX_DOMAINS || nrPages == 0 || nrPages > MAX_GUEST_PAGES) return DOM_ERR_ARGS;
  if (grantFrames == 0 || grantFrames > MAX_GRANT_FRAMES) return DOM_ERR_ARGS;
  if (domainState(domid) != DOM_FREE) return DOM_ERR_ARGS;
  const p2mFrames = (nrPages + 1023) >> 10;
  const activeFrames = grantFrames * ACTIVE_FRAMES_PER_GRANT_FRAME;
  const maptrackFrames = (MAPTRACK_ENTRIES * 16) >> 12;
  if (p2mFrames + grantFrames + activeFrames + maptrackFrames > freshFramesLeft()) return DOM_ERR_NO_FRAMES;
  const p2m = allocFrames(p2mFrames);
  const shared = p2m == 0 ? 0 : allocFrames(grantFrames);
  const active = shared == 0 ? 0 : allocFrames(activeFrames);
  const maptrack = active == 0 ? 0 : allocFrames(maptrackFrames);
  if (maptrack == 0) {
    // Out of linear memory part way: give back what was taken.
    if (p2m != 0) freeRun(p2m, p2mFrames);
    if (shared != 0) freeRun(shared, grantFrames);
    if (active != 0) freeRun(active, activeFrames);
    return DOM_ERR_NO_FRAMES;
  }
  // Chain the free handles: entry h keeps h + 2 (the next free handle, plus one) at offset 4.
  for (let h: u32 = 0; h < MAPTRACK_ENTRIES; h++) {
    const f = maptrack + (h >> 8);
    wr32(f, ((h & 255) << 4) + 4, h + 1 < MAPTRACK_ENTRIES ? h + 2 : 0);
  }
  const r = recOff(domid);
  wr32(domainTable, r + D_STATE, DOM_LIVE);
  wr32(domainTable, r + D_NR_PAGES, nrPages);
  wr32(domainTable, r + D_P2M, p2m);
  wr32(domainTable, r + D_GRANT_FRAMES, grantFrames);
  wr32(domainTable, r + D_GRANT_SHARED, shared);
  wr32(domainTable, r + D_GRANT_ACTIVE, active);
  wr32(domainTable, r + D_MAPTRACK, maptrack);
  wr32(domainTable, r + D_MAPTRACK_FREE, 1);
  wr32(domainTable, r + D_ACTIVE_PINS, 0);
  wr32(domainTable, r + D_MAPS_HELD, 0);
  return 0;
}

function freeRun(first: u32, n: u32): void {
  for (let i: u32 = 0; i < n; i++) freeFrame(first + i);
}

/**
 * The arena frame behind guest frame `gfn`, populated (zeroed) on first use;
 * 0 when gfn is outside the domain's memory or the arena is full.
 */
export function guestFrame(domid: u32, gfn: u32): u32 {
  if (domainState(domid) == DOM_FREE || gfn >= domainNrPages(domid)) return 0;
  const p2m = domainField(domid, D_P2M) + (gfn >> 10);
  const off = (gfn & 1023) << 2;
  let f = rd32(p2m, off);
  if (f == 0) {
    f = allocFrame();
    if (f == 0) return 0;
    wr32(p2m, off, f);
  }
  return f;
}

/** First frame of the domain's gfn -> frame table (1024 u32 entries per frame). */
export function domainP2M(domid: u32): u32 { return domainField(domid, D_P2M); }

/** Frees everything the domain owned. The caller has checked that nothing maps it any more. */
export function domainFree(domid: u32): void {
  const r = recOff(domid);
  const nrPages = domainNrPages(domid);
  const p2m = domainField(domid, D_P2M);
  for (let g: u32 = 0; g < nrPages; g++) {
    const f = rd32(p2m + (g >> 10), (g & 1023) << 2);
    if (f != 0) freeFrame(f);
  }
  freeRun(p2m, (nrPages + 1023) >> 10);
  const gf = domainField(domid, D_GRANT_FRAMES);
  freeRun(domainField(domid, D_GRANT_SHARED), gf);
  freeRun(domainField(domid, D_GRANT_ACTIVE), gf * ACTIVE_FRAMES_PER_GRANT_FRAME);
  freeRun(domainField(domid, D_MAPTRACK), (MAPTRACK_ENTRIES * 16) >> 12);
  touch(domainTable);
  memory.fill(frameAddr(domainTable) + r, 0, DOMAIN_RECORD_BYTES); // DOM_FREE is 0
}

export function setDomainState(domid: u32, state: u32): void { wr32(domainTable, recOff(domid) + D_STATE, state); }
