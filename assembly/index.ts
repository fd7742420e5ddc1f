// The data plane's exported surface. JavaScript reaches it only through
// web/src/core (the typed facade), which validates arguments and turns
// negative codes into errors. 64-bit quantities cross the boundary as f64
// (exact up to 2^53, far beyond any size the emulator uses).

import { rawInit, rawAlloc, rawBytesInUse } from "./memory";
import * as arena from "./arena";
import * as domain from "./domain";
import * as grant from "./grant";
import * as image from "./image";
import * as blockmap from "./blockmap";
import * as blkback from "./blkback";
import * as blkfront from "./blkfront";
import { crc32cInit, crc32c as crc } from "./crc32c";
import {
  PAGE_SIZE, STAGING_BYTES, DOM_LIVE, MAX_IMAGE_BYTES, MAPPED_ERR_UNMAPPED, MAPPED_ERR_READ_ONLY,
  STAT_OKAY, STAT_ERROR,
} from "./abi";

// The numbers of this interface (sizes, codes, flags, layouts) are in
// abi.ts, from which the build gives TypeScript its copy.

let staging: usize = 0;

/** Sets the data plane up with room for `maxFrames` 4 KiB frames. Call once. */
export function init(maxFrames: u32): bool {
  rawInit();
  staging = rawAlloc(STAGING_BYTES, PAGE_SIZE);
  return staging != 0 && arena.arenaInit(maxFrames) && crc32cInit() && domain.domainsInit() &&
    image.imagesInit() && blockmap.devicesInit() && blkback.blkbackInit() && blkfront.blkfrontInit();
}

export function stagingPtr(): usize { return staging; }
export function memoryBytesInUse(): f64 { return <f64>rawBytesInUse(); }

// ---- arena ----
export function framesInUse(): u32 { return arena.framesInUse(); }
export function framesLimit(): u32 { return arena.framesLimit(); }
export function checkpoint(): u32 { return arena.checkpoint(); }
export function restore(id: u32): bool { return arena.restore(id); }
export function release(id: u32): bool { return arena.release(id); }
export function checkpointDepth(): u32 { return arena.checkpointDepth(); }
export function dirtyFramesSince(id: u32): u32 { return arena.dirtyFramesSince(id); }

/** Every frame in use, read in frame order, folded into a crc32c: equal states give equal digests. */
export function arenaDigest(): u32 {
  let c: u32 = 0;
  const limit = arena.rd32(arena.SUPERBLOCK, 0);
  for (let f: u32 = 1; f < limit; f++) c = crc(arena.frameAddr(f), PAGE_SIZE, c);
  return c;
}

// ---- domains and guest memory ----
export function domainCreate(domid: u32, nrPages: u32, grantFrames: u32): i32 { return domain.domainCreate(domid, nrPages, grantFrames); }
export function domainDestroy(domid: u32): i32 {
  if (domain.domainState(domid) == DOM_LIVE) {
    blkback.backendDisconnectAllOf(domid);
    blkfront.frontendFreeAllOf(domid);
  }
  return grant.domainDestroy(domid);
}
export function domainState(domid: u32): u32 { return domain.domainState(domid); }
export function domainNrPages(domid: u32): u32 { return domain.domainState(domid) == 0 ? 0 : domain.domainNrPages(domid); }
export function domainGrantEntries(domid: u32): u32 { return domain.domainState(domid) == 0 ? 0 : domain.domainGrantEntries(domid); }

/** Copies staging bytes into a guest page (what the guest's own CPU does). -1 if out of range. */
export function guestWrite(domid: u32, gfn: u32, offset: u32, src: usize, len: u32): i32 {
  if (offset + len > PAGE_SIZE || offset + len < offset) return -1;
  const f = domain.guestFrame(domid, gfn);
  if (f == 0) return -1;
  arena.touch(f);
  memory.copy(arena.frameAddr(f) + offset, src, len);
  return 0;
}

export function guestRead(domid: u32, gfn: u32, offset: u32, dst: usize, len: u32): i32 {
  if (offset + len > PAGE_SIZE || offset + len < offset) return -1;
  const f = domain.guestFrame(domid, gfn);
  if (f == 0) return -1;
  memory.copy(dst, arena.frameAddr(f) + offset, len);
  return 0;
}

// ---- grant tables ----
export function grantAccess(dom: u32, ref: u32, grantee: u32, gfn: u32, readonly: bool): i32 { return grant.grantAccess(dom, ref, grantee, gfn, readonly); }
export function writeGrantEntry(dom: u32, ref: u32, flags: u32, domid: u32, gfn: u32): i32 { return grant.writeGrantEntry(dom, ref, flags, domid, gfn); }
/** Copies the 8-byte shared entry (flags u16, domid u16, frame u32) to `dst`. 0, or -1 for a bad ref. */
export function readGrantEntry(dom: u32, ref: u32, dst: usize): i32 { return grant.readGrantEntry(dom, ref, dst); }
export function endForeignAccess(dom: u32, ref: u32): i32 { return grant.endForeignAccess(dom, ref); }
export function grantPins(dom: u32, ref: u32): u32 { return grant.grantPins(dom, ref); }
export function mapGrant(mapper: u32, granter: u32, ref: u32, readonly: bool): i32 { return grant.mapGrant(mapper, granter, ref, readonly); }
export function unmapGrant(mapper: u32, handle: u32): i32 { return grant.unmapGrant(mapper, handle); }
export function mappedRead(mapper: u32, handle: u32, offset: u32, dst: usize, len: u32): i32 {
  const f = grant.mappedFrame(mapper, handle);
  if (f == 0 || offset + len > PAGE_SIZE || offset + len < offset) return MAPPED_ERR_UNMAPPED;
  memory.copy(dst, arena.frameAddr(f) + offset, len);
  return 0;
}
export function mappedWrite(mapper: u32, handle: u32, offset: u32, src: usize, len: u32): i32 {
  const f = grant.mappedFrame(mapper, handle);
  if (f == 0 || offset + len > PAGE_SIZE || offset + len < offset) return MAPPED_ERR_UNMAPPED;
  if (grant.mappedReadonly(mapper, handle)) return MAPPED_ERR_READ_ONLY;
  arena.touch(f);
  memory.copy(arena.frameAddr(f) + offset, src, len);
  return 0;
}
export function grantCopy(
  caller: u32,
  srcIsRef: bool, srcDom: u32, srcRefOrGfn: u32, srcOffset: u32,
  dstIsRef: bool, dstDom: u32, dstRefOrGfn: u32, dstOffset: u32, len: u32,
): i32 {
  return grant.grantCopy(caller, srcIsRef, srcDom, srcRefOrGfn, srcOffset, dstIsRef, dstDom, dstRefOrGfn, dstOffset, len);
}

// ---- images ----
export function imageCreate(img: u32, size: f64): i32 { return image.imageCreate(img, <u64>size); }
export function imageDestroy(img: u32): i32 { return image.imageDestroy(img); }
export function imageResize(img: u32, size: f64): i32 { return image.imageResize(img, <u64>size); }
export function imageExists(img: u32): bool { return image.imageExists(img); }
export function imageSize(img: u32): f64 { return image.imageExists(img) ? <f64>image.imageSize(img) : -1; }
export function imageBlocks(img: u32): u32 { return image.imageExists(img) ? image.imageBlocks(img) : 0; }
export function imageRead(img: u32, offset: f64, dst: usize, len: u32): i32 {
  if (!image.imageExists(img) || offset + <f64>len > <f64>image.imageSize(img)) return -1;
  image.imageRead(img, <u64>offset, dst, len);
  return 0;
}
export function imageWrite(img: u32, offset: f64, src: usize, len: u32): i32 {
  if (!image.imageExists(img) || offset + <f64>len > <f64>MAX_IMAGE_BYTES) return -1;
  return image.imageWriteExtending(img, <u64>offset, src, len) ? 0 : -2;
}
export function imageDiscard(img: u32, offset: f64, len: f64): i32 {
  if (!image.imageExists(img) || offset + len > <f64>image.imageSize(img)) return -1;
  image.imageDiscard(img, <u64>offset, <u64>len);
  return 0;
}

// ---- block devices ----
export function deviceSetImage(dev: u32, img: u32, offset: f64, sectors: f64, flags: u32): i32 { return blockmap.deviceSetImage(dev, img, <u64>offset, <u64>sectors, flags); }
export function deviceSetTable(dev: u32, src: usize, targets: u32, legs: u32, flags: u32): i32 { return blockmap.deviceSetTable(dev, src, targets, legs, flags); }
export function deviceClear(dev: u32): i32 { return blockmap.deviceClear(dev); }
export function deviceKind(dev: u32): u32 { return blockmap.deviceKind(dev); }
export function deviceSectors(dev: u32): f64 { return blockmap.deviceKind(dev) == 0 ? 0 : <f64>blockmap.deviceSectors(dev); }
export function deviceIO(dev: u32, sector: f64, nsect: u32, op: u32, buf: usize): i32 { return blockmap.deviceIO(dev, <u64>sector, <u64>nsect, op, buf); }

// ---- blkif rings ----
export function frontendInit(dom: u32, gfns: usize, order: u32, abi: u32): i32 { return blkfront.frontendInit(dom, gfns, order, abi); }
export function frontendFree(r: u32): i32 { return blkfront.frontendFree(r); }
export function frontendState(r: u32): u32 { return blkfront.frontendState(r); }
export function frontendFreeSlots(r: u32): u32 { return blkfront.frontendState(r) == 0 ? 0 : blkfront.frontendFreeSlots(r); }
export function frontendQueue(r: u32, src: usize, count: u32): u32 { return blkfront.frontendQueue(r, src, count); }
export function frontendPush(r: u32): bool { return blkfront.frontendPush(r); }
export function frontendConsume(r: u32, dst: usize, max: u32): i32 { return blkfront.frontendConsume(r, dst, max); }
export function frontendFinalCheck(r: u32): bool { return blkfront.frontendFinalCheck(r); }
export function frontendReqProdPvt(r: u32): u32 { return blkfront.frontendField(r, blkfront.FIELD_REQ_PROD_PVT); }
export function frontendRspCons(r: u32): u32 { return blkfront.frontendField(r, blkfront.FIELD_RSP_CONS); }
export function frontendEntries(r: u32): u32 { return blkfront.frontendField(r, blkfront.FIELD_ENTRIES); }
export function frontendEntryBytes(r: u32): u32 { return blkfront.frontendEntryBytes(r); }

export function backendConnect(backDom: u32, frontDom: u32, grefs: usize, order: u32, abi: u32, device: u32, flags: u32, sectors: f64, logicalBlockSize: u32): i32 {
  return blkback.backendConnect(backDom, frontDom, grefs, order, abi, device, flags, <u64>sectors, logicalBlockSize);
}
export function backendDisconnect(r: u32): i32 { return blkback.backendDisconnect(r); }
export function backendProcess(r: u32, budget: u32): u32 { return blkback.backendProcess(r, budget); }
export function backendState(r: u32): u32 { return blkback.backendState(r); }
export function backendLastMapStatus(): i32 { return blkback.backendLastMapStatus(); }
export function backendReqCons(r: u32): u32 { return blkback.backendField(r, blkback.FIELD_REQ_CONS); }
export function backendRspProdPvt(r: u32): u32 { return blkback.backendField(r, blkback.FIELD_RSP_PROD_PVT); }
export function backendEntries(r: u32): u32 { return blkback.backendField(r, blkback.FIELD_ENTRIES); }
export function backendStat(r: u32, which: u32): u32 {
  return blkback.backendField(r, which == STAT_OKAY ? blkback.FIELD_STAT_OK : which == STAT_ERROR ? blkback.FIELD_STAT_ERROR : blkback.FIELD_STAT_EOPNOTSUPP);
}

// ---- checksums and the reference copy ----
export function crc32c(ptr: usize, len: u32, seed: u32): u32 { return crc(ptr, len, seed); }
/** The limit any data path is measured against: one memory.copy. */
export function rawCopy(dst: usize, src: usize, len: u32): void { memory.copy(dst, src, len); }
/** Raw linear memory for benchmarks and tests (untracked, never freed). */
export function scratchAlloc(bytes: u32): usize { return rawAlloc(bytes, PAGE_SIZE); }
