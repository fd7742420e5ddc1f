// Grant tables, v1 (xen/include/public/grant_table.h).
//
// Shared entry, 8 bytes, written by the granting guest (512 per frame):
//   +0 u16 flags   GTF_permit_access (type 1) | GTF_readonly; Xen sets GTF_reading/GTF_writing
//   +2 u16 domid   the grantee
//   +4 u32 frame   the guest frame number shared
// Active entry, 16 bytes, Xen's private state per ref (the guest cannot touch it):
//   +0 u32 pins    +4 u32 writable pins    +8 u32 arena frame    +12 u32 mapping domid
// Maptrack entry, 16 bytes, per mapping domain and handle:
//   +0 u32 granting domid + 1 (0 = free)   +4 u32 ref (next free handle + 1 when free)
//   +8 u32 1 if read-only                  +12 u32 arena frame
//
// As in Xen, the type, grantee and read-only checks are made when an entry
// goes from unpinned to pinned; a further map of a pinned entry reuses the
// frame captured then. Revocation by the grantor (end access) is a
// compare-and-swap that fails while GTF_reading or GTF_writing is set: Xen
// never tears down a live foreign mapping. A hostile guest may overwrite its
// shared entry anyway; the mapping survives on the active entry.

import { frameAddr, rd32, touch, wr32 } from "./arena";
import {
  PAGE_SIZE, MAX_DOMAINS, MAPTRACK_ENTRIES, DOM_LIVE, DOM_DYING, DOMID_SELF,
  GTF_permit_access, GTF_type_mask, GTF_readonly, GTF_reading, GTF_writing, GTF_sub_page,
  GNTST_okay, GNTST_general_error, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle,
  GNTST_no_device_space, GNTST_permission_denied, GNTST_bad_page, GNTST_bad_copy_arg,
  GRANT_ENTRY_BYTES, GRANT_ENTRY_DOMID, GRANT_ENTRY_FRAME, END_ACCESS_REVOKED,
  SEGMENT_BYTES, SEGMENT_GREF, SEGMENT_FIRST_SECT, SEGMENT_LAST_SECT,
} from "./abi";
import {
  domainState, domainIsLive, domainGrantEntries, grantSharedFrame, grantActiveFrame, maptrackFrame,
  guestFrame, domainField, setDomainField, domainFree, setDomainState, domainNrPages, domainP2M,
  FIELD_MAPTRACK_FREE, FIELD_ACTIVE_PINS, FIELD_MAPS_HELD,
} from "./domain";

// @ts-ignore: decorator
@inline function sharedOff(ref: u32): u32 { return (ref & 511) * GRANT_ENTRY_BYTES; }
// @ts-ignore: decorator
@inline function activeOff(ref: u32): u32 { return (ref & 255) << 4; }
// @ts-ignore: decorator
@inline function mapOff(handle: u32): u32 { return (handle & 255) << 4; }

function sharedFlags(dom: u32, ref: u32): u16 { return load<u16>(frameAddr(grantSharedFrame(dom, ref)) + sharedOff(ref)); }
function setSharedFlags(dom: u32, ref: u32, flags: u16): void {
  const f = grantSharedFrame(dom, ref);
  touch(f);
  store<u16>(frameAddr(f) + sharedOff(ref), flags);
}

function validRef(dom: u32, ref: u32): bool {
  return dom < MAX_DOMAINS && domainState(dom) != 0 && ref < domainGrantEntries(dom);
}

// ---- the granting guest's side ----

/** gnttab_grant_foreign_access_ref: domid and frame first, flags last. 0, or -1 for a bad ref. */
export function grantAccess(dom: u32, ref: u32, grantee: u32, gfn: u32, readonly: bool): i32 {
  if (!validRef(dom, ref)) return -1;
  const f = grantSharedFrame(dom, ref);
  const a = frameAddr(f) + sharedOff(ref);
  touch(f);
  store<u16>(a + GRANT_ENTRY_DOMID, <u16>grantee);
  store<u32>(a + GRANT_ENTRY_FRAME, gfn);
  store<u16>(a, GTF_permit_access | (readonly ? GTF_readonly : 0));
  return 0;
}

/** A raw write of a shared entry, as a hostile guest may do at any time. */
export function writeGrantEntry(dom: u32, ref: u32, flags: u32, domid: u32, gfn: u32): i32 {
  if (!validRef(dom, ref)) return -1;
  const f = grantSharedFrame(dom, ref);
  const a = frameAddr(f) + sharedOff(ref);
  touch(f);
  store<u16>(a, <u16>flags);
  store<u16>(a + GRANT_ENTRY_DOMID, <u16>domid);
  store<u32>(a + GRANT_ENTRY_FRAME, gfn);
  return 0;
}

/** Copies the 8-byte shared entry to `dst`; -1 for a bad ref. */
export function readGrantEntry(dom: u32, ref: u32, dst: usize): i32 {
  if (!validRef(dom, ref)) return -1;
  store<u64>(dst, load<u64>(frameAddr(grantSharedFrame(dom, ref)) + sharedOff(ref)));
  return 0;
}

/**
 * gnttab_end_foreign_access_ref (v1): clear the entry unless Xen has it
 * mapped. END_ACCESS_REVOKED, 0 = still in use (nothing changed), -1 = bad ref.
 */
export function endForeignAccess(dom: u32, ref: u32): i32 {
  if (!validRef(dom, ref)) return -1;
  const flags = sharedFlags(dom, ref);
  if ((flags & (GTF_reading | GTF_writing)) != 0) return 0;
  setSharedFlags(dom, ref, 0);
  return END_ACCESS_REVOKED;
}

/** Pins currently held on an entry (Xen's active entry). */
export function grantPins(dom: u32, ref: u32): u32 {
  if (!validRef(dom, ref)) return 0;
  return rd32(grantActiveFrame(dom, ref), activeOff(ref));
}

// ---- the mapping domain's side (GNTTABOP_map_grant_ref / unmap_grant_ref) ----

/** Maps `ref` of `granter` into `mapper`. Returns a handle (>= 0) or a GNTST_* code. */
export function mapGrant(mapper: u32, granter: u32, ref: u32, readonly: bool): i32 {
  if (!domainIsLive(mapper)) return GNTST_general_error;
  if (granter >= MAX_DOMAINS || !domainIsLive(granter)) return GNTST_bad_domain;
  if (ref >= domainGrantEntries(granter)) return GNTST_bad_gntref;
  const freeHandle = domainField(mapper, FIELD_MAPTRACK_FREE);
  if (freeHandle == 0) return GNTST_no_device_space;

  const sf = grantSharedFrame(granter, ref);
  const sa = frameAddr(sf) + sharedOff(ref);
  const af = grantActiveFrame(granter, ref);
  const ao = activeOff(ref);
  const pins = rd32(af, ao);
  const wpins = rd32(af, ao + 4);
  if (pins != 0 && rd32(af, ao + 12) != mapper) return GNTST_general_error; // pinned by another domain
  let frame: u32 = pins == 0 ? 0 : rd32(af, ao + 8);
  if (pins == 0 || (!readonly && wpins == 0)) {
    // _set_status_v1: checks, then GTF_reading (and GTF_writing) set in the shared entry.
    const flags = load<u16>(sa);
    if (pins == 0) {
      if ((flags & (GTF_type_mask | GTF_sub_page)) != GTF_permit_access) return GNTST_general_error;
      if (<u32>load<u16>(sa + GRANT_ENTRY_DOMID) != mapper) return GNTST_general_error;
    }
    if (!readonly && (flags & GTF_readonly) != 0) return GNTST_general_error;
    touch(sf);
    store<u16>(sa, flags | GTF_reading | (readonly ? 0 : GTF_writing));
    if (pins == 0) {
      frame = guestFrame(granter, load<u32>(sa + GRANT_ENTRY_FRAME));
      if (frame == 0) {
        // Not a frame of the granter's memory: unlock_out_clear takes the bits back.
        store<u16>(sa, load<u16>(sa) & ~(GTF_reading | (readonly ? 0 : GTF_writing)));
        return GNTST_general_error;
      }
      wr32(af, ao + 8, frame);
      wr32(af, ao + 12, mapper);
    }
  }
  wr32(af, ao, pins + 1);
  if (!readonly) wr32(af, ao + 4, wpins + 1);

  const handle = freeHandle - 1;
  const mf = maptrackFrame(mapper, handle);
  const mo = mapOff(handle);
  setDomainField(mapper, FIELD_MAPTRACK_FREE, rd32(mf, mo + 4));
  wr32(mf, mo, granter + 1);
  wr32(mf, mo + 4, ref);
  wr32(mf, mo + 8, readonly ? 1 : 0);
  wr32(mf, mo + 12, frame);
  setDomainField(granter, FIELD_ACTIVE_PINS, domainField(granter, FIELD_ACTIVE_PINS) + 1);
  setDomainField(mapper, FIELD_MAPS_HELD, domainField(mapper, FIELD_MAPS_HELD) + 1);
  return <i32>handle;
}

/**
 * blkback's per-request map, I/O and unmap of `nseg` segments (8-byte
 * descriptors at `segs`: gref u32, first_sect u8, last_sect u8), in one pass
 * and without the bookkeeping: the same checks as mapGrant in the same order
 * (a free maptrack handle for each, then type, grantee and read-only for an
 * unpinned entry, the mapper for a pinned one), and the net effect of
 * map-then-unmap on the shared flags (an unpinned entry ends with
 * GTF_reading, and for a writable map GTF_writing, cleared). Nothing else of
 * a map undone before the data plane returns is observable. Writes an I/O
 * vector to `iov`: the address and length of each segment's bytes in the
 * granted page (a writable map's frame is touched, as the I/O will write
 * it). Returns the total bytes, or -1 when any map would fail.
 */
export function grantSegmentsForIO(mapper: u32, granter: u32, segs: usize, nseg: u32, readonly: bool, iov: usize): i64 {
  if (!domainIsLive(mapper) || granter >= MAX_DOMAINS || !domainIsLive(granter)) return -1;
  if (nseg > MAPTRACK_ENTRIES - domainField(mapper, FIELD_MAPS_HELD)) return -1;
  const entries = domainGrantEntries(granter);
  const shared0 = grantSharedFrame(granter, 0);
  const active0 = grantActiveFrame(granter, 0);
  const pages = domainNrPages(granter);
  const p2m = domainP2M(granter);
  let total: i64 = 0;
  for (let i: u32 = 0; i < nseg; i++) {
    const seg = segs + <usize>(i * SEGMENT_BYTES);
    const ref = load<u32>(seg + SEGMENT_GREF);
    if (ref >= entries) return -1;
    const sf = shared0 + (ref >> 9);
    const sa = frameAddr(sf) + sharedOff(ref);
    const flags = load<u16>(sa);
    const aa = frameAddr(active0 + (ref >> 8)) + activeOff(ref);
    const pins = load<u32>(aa);
    let f: u32;
    if (pins == 0) {
      if ((flags & (GTF_type_mask | GTF_sub_page)) != GTF_permit_access) return -1;
      if (<u32>load<u16>(sa + GRANT_ENTRY_DOMID) != mapper) return -1;
      if (!readonly && (flags & GTF_readonly) != 0) return -1;
      // Map then unmap (or a failed frame lookup, unlock_out_clear) leaves
      // GTF_reading, and for a writable map GTF_writing, cleared.
      const clear: u16 = GTF_reading | (readonly ? 0 : GTF_writing);
      if ((flags & clear) != 0) {
        touch(sf);
        store<u16>(sa, flags & ~clear);
      }
      const gfn = load<u32>(sa + GRANT_ENTRY_FRAME);
      if (gfn >= pages) return -1;
      f = rd32(p2m + (gfn >> 10), (gfn & 1023) << 2);
      if (f == 0) f = guestFrame(granter, gfn); // first touch of that page
      if (f == 0) return -1;
    } else {
      if (load<u32>(aa + 12) != mapper) return -1;
      if (!readonly && load<u32>(aa + 4) == 0) {
        // _set_status runs for the first writable pin: it checks GTF_readonly and
        // sets GTF_writing, which the unmap clears again.
        if ((flags & GTF_readonly) != 0) return -1;
        if ((flags & GTF_writing) != 0) {
          touch(sf);
          store<u16>(sa, flags & ~GTF_writing);
        }
      }
      f = load<u32>(aa + 8);
    }
    if (!readonly) touch(f);
    const first = <u32>load<u8>(seg + SEGMENT_FIRST_SECT);
    const len = (<u32>load<u8>(seg + SEGMENT_LAST_SECT) - first + 1) << 9;
    store<u32>(iov + (<usize>i << 3), <u32>(frameAddr(f) + (first << 9)));
    store<u32>(iov + (<usize>i << 3) + 4, len);
    total += len;
  }
  return total;
}

/** The arena frame behind a live handle, or 0. */
export function mappedFrame(mapper: u32, handle: u32): u32 {
  if (mapper >= MAX_DOMAINS || domainState(mapper) == 0 || handle >= MAPTRACK_ENTRIES) return 0;
  const mf = maptrackFrame(mapper, handle);
  if (rd32(mf, mapOff(handle)) == 0) return 0;
  return rd32(mf, mapOff(handle) + 12);
}

export function mappedReadonly(mapper: u32, handle: u32): bool {
  return rd32(maptrackFrame(mapper, handle), mapOff(handle) + 8) != 0;
}

/** GNTTABOP_unmap_grant_ref by handle: GNTST_okay or GNTST_bad_handle. */
export function unmapGrant(mapper: u32, handle: u32): i32 {
  if (mapper >= MAX_DOMAINS || domainState(mapper) == 0 || handle >= MAPTRACK_ENTRIES) return GNTST_bad_handle;
  const mf = maptrackFrame(mapper, handle);
  const mo = mapOff(handle);
  const granterPlus1 = rd32(mf, mo);
  if (granterPlus1 == 0) return GNTST_bad_handle;
  const granter = granterPlus1 - 1;
  const ref = rd32(mf, mo + 4);
  const readonly = rd32(mf, mo + 8) != 0;

  const af = grantActiveFrame(granter, ref);
  const ao = activeOff(ref);
  const pins = rd32(af, ao) - 1;
  const wpins = rd32(af, ao + 4) - (readonly ? 0 : 1);
  wr32(af, ao, pins);
  wr32(af, ao + 4, wpins);
  let clear: u16 = 0;
  if (wpins == 0 && !readonly) clear |= GTF_writing;
  if (pins == 0) clear |= GTF_reading;
  if (clear != 0) setSharedFlags(granter, ref, sharedFlags(granter, ref) & ~clear);

  wr32(mf, mo, 0);
  wr32(mf, mo + 4, domainField(mapper, FIELD_MAPTRACK_FREE));
  setDomainField(mapper, FIELD_MAPTRACK_FREE, handle + 1);
  setDomainField(mapper, FIELD_MAPS_HELD, domainField(mapper, FIELD_MAPS_HELD) - 1);
  const left = domainField(granter, FIELD_ACTIVE_PINS) - 1;
  setDomainField(granter, FIELD_ACTIVE_PINS, left);
  // A destroyed domain lingers while others map its pages, then goes.
  if (left == 0 && domainState(granter) == DOM_DYING) domainFree(granter);
  return GNTST_okay;
}

/**
 * Destroys a domain: drops every mapping it holds of others' grants, then
 * frees its memory, unless other domains still map its grants, in which case
 * it stays DYING until the last of them unmaps. Returns the new state.
 */
export function domainDestroy(domid: u32): i32 {
  if (domid >= MAX_DOMAINS || domainState(domid) != DOM_LIVE) return -1;
  for (let h: u32 = 0; h < MAPTRACK_ENTRIES && domainField(domid, FIELD_MAPS_HELD) != 0; h++) {
    if (rd32(maptrackFrame(domid, h), mapOff(h)) != 0) unmapGrant(domid, h);
  }
  if (domainField(domid, FIELD_ACTIVE_PINS) == 0) {
    domainFree(domid);
    return 0;
  }
  setDomainState(domid, DOM_DYING);
  return <i32>DOM_DYING;
}

// ---- GNTTABOP_copy ----

/**
 * Resolves one side of a grant copy to an arena frame, or a GNTST_* code
 * (negative). A gref side must grant `caller` access (writable when it is
 * the destination); a frame side must be the caller's own memory.
 */
function copySide(caller: u32, isRef: bool, dom: u32, refOrGfn: u32, dest: bool): i64 {
  if (!isRef) {
    if (dom != DOMID_SELF && dom != caller) return GNTST_permission_denied;
    const f = guestFrame(caller, refOrGfn);
    return f == 0 ? GNTST_bad_page : <i64>f;
  }
  if (dom >= MAX_DOMAINS || !domainIsLive(dom)) return GNTST_bad_domain;
  if (refOrGfn >= domainGrantEntries(dom)) return GNTST_bad_gntref;
  const sa = frameAddr(grantSharedFrame(dom, refOrGfn)) + sharedOff(refOrGfn);
  const flags = load<u16>(sa);
  if ((flags & (GTF_type_mask | GTF_sub_page)) != GTF_permit_access) return GNTST_general_error;
  if (<u32>load<u16>(sa + GRANT_ENTRY_DOMID) != caller) return GNTST_general_error;
  if (dest && (flags & GTF_readonly) != 0) return GNTST_general_error;
  const f = guestFrame(dom, load<u32>(sa + GRANT_ENTRY_FRAME));
  return f == 0 ? GNTST_general_error : <i64>f;
}

export function grantCopy(
  caller: u32,
  srcIsRef: bool, srcDom: u32, srcRefOrGfn: u32, srcOffset: u32,
  dstIsRef: bool, dstDom: u32, dstRefOrGfn: u32, dstOffset: u32,
  len: u32,
): i32 {
  if (!domainIsLive(caller)) return GNTST_general_error;
  if (<u64>srcOffset + <u64>len > <u64>PAGE_SIZE || <u64>dstOffset + <u64>len > <u64>PAGE_SIZE) return GNTST_bad_copy_arg;
  const src = copySide(caller, srcIsRef, srcDom, srcRefOrGfn, false);
  if (src < 0) return <i32>src;
  const dst = copySide(caller, dstIsRef, dstDom, dstRefOrGfn, true);
  if (dst < 0) return <i32>dst;
  touch(<u32>dst);
  memory.copy(frameAddr(<u32>dst) + dstOffset, frameAddr(<u32>src) + srcOffset, len);
  return GNTST_okay;
}
