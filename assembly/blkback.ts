// The backend's half of a blkif connection, as Linux xen-blkback runs it
// (drivers/block/xen-blkback/blkback.c), over one vbd.
//
// backendProcess() is do_block_io_op: drain requests, answer each, then the
// final check, repeated while work remains; all of it inside one call, so
// JavaScript pays one crossing per batch, not per slot. Per request:
//   1. copy the slot to private memory (the frontend may rewrite it meanwhile)
//   2. validate as dispatch_rw_block_io does: segment count, sector bounds in
//      each segment, read-only vbd, end beyond the vbd, alignment
//   3. map every grant (writable for READ, read-only otherwise: no
//      persistent grants), move the data through the device mapping, unmap
//      (in one pass: a map undone within the call leaves only its net effect)
//   4. answer OKAY, ERROR or EOPNOTSUPP with id and operation echoed
// A frontend whose req_prod runs more than a ring ahead of the responses is
// bogus: Linux logs it and parks the ring until disconnect, with no response
// and no notification; so does this.
//
// Simplifications: requests complete within the call (no in-flight I/O
// across calls), responses are published once per batch (equivalent to
// Linux's push per response, as the frontend cannot move rsp_event
// meanwhile), one queue, no persistent grants.

import { frameAddr, rd32, rd64, touch, wr32, wr64, allocFrames } from "./arena";
import { rawAlloc, copySmall } from "./memory";
import { mapGrant, unmapGrant, mappedFrame, grantSegmentsForIO } from "./grant";
import { deviceIO, resolveToImage, resolvedImage, resolvedOffset } from "./blockmap";
import { imageSize, imageTransferVec, imageWriteVecExtending } from "./image";
import { domainIsLive } from "./domain";
import { RingView, ringEntries, pushAndCheckNotify, finalCheckForRequests, requestProdOverflow, requestConsOverflow } from "./ring";
import { entryBytes, reqIdOffset, reqSectorOffset, rwSegOffset, discardNrOffset, indirectGrefsOffset } from "./blkif";
import {
  PAGE_SIZE, MAX_RING_PAGE_ORDER, RING_REQ_PROD, RING_RSP_PROD, RING_RSP_EVENT,
  BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT,
  BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP,
  BLKIF_MAX_SEGMENTS_PER_REQUEST, MAX_INDIRECT_SEGMENTS, SEGMENTS_PER_INDIRECT_FRAME,
  BLKIF_REQ_OPERATION, BLKIF_REQ_NR_SEGMENTS, BLKIF_INDIRECT_OP, BLKIF_INDIRECT_NR_SEGMENTS,
  SECTORS_PER_PAGE, SEGMENT_BYTES, SEGMENT_FIRST_SECT, SEGMENT_LAST_SECT, ABI_X86_32,
  RESPONSE_ID, RESPONSE_OPERATION, RESPONSE_STATUS,
  MAX_BACK_RINGS, BACK_FREE, BACK_CONNECTED, BACK_BOGUS, VBD_READ_ONLY, VBD_DISCARD,
  BACK_ERR_MAP, BACK_ERR_BOGUS, BACK_ERR_ARGS, BACK_ERR_FULL,
  MIN_LOGICAL_BLOCK_SIZE, MAX_LOGICAL_BLOCK_SIZE,
  PROCESS_NOTIFY, PROCESS_MORE, PROCESS_BOGUS, PROCESS_ANSWERED_SHIFT,
  IO_READ, IO_WRITE, IO_DISCARD, IO_OK,
} from "./abi";

const RECORD_BYTES: u32 = 128;

// Back ring record.
const B_STATE = 0;
const B_BACK_DOM = 4;
const B_FRONT_DOM = 8;
const B_ORDER = 12;
const B_ENTRIES = 16;
const B_ABI = 20;
const B_REQ_CONS = 24;
const B_RSP_PROD_PVT = 28;
const B_DEVICE = 32;
const B_FLAGS = 36;
const B_SECTORS = 40; // u64: vbd size in 512-byte sectors
const B_LBS_SECTORS = 48; // logical block size in sectors
const B_STAT_OK = 52;
const B_STAT_ERROR = 56;
const B_STAT_EOPNOTSUPP = 60;
const B_HANDLES = 64; // u32 x 16: grant handles of the ring pages

let table: u32 = 0; // first of 2 consecutive frames
let lastMapStatus: i32 = 0;
let view: RingView = new RingView();
let reqBuf: usize = 0; // the private copy of a slot
let segBuf: usize = 0; // segments of the request in hand, 8 bytes each (up to 256)
let iovBuf: usize = 0; // (address, length) of each segment's bytes

// The connection in hand, read from its record once per backendProcess call
// (nothing else changes it during the call).
let vbdBackDom: u32 = 0;
let vbdFrontDom: u32 = 0;
let vbdAbi: u32 = 0;
let vbdFlags: u32 = 0;
let vbdSectors: u64 = 0;
let vbdLbsMask: u32 = 0;
let vbdDevice: u32 = 0;
let statOk: u32 = 0;
let statError: u32 = 0;
let statEopnotsupp: u32 = 0;

function loadVbd(r: u32): void {
  vbdBackDom = get(r, B_BACK_DOM);
  vbdFrontDom = get(r, B_FRONT_DOM);
  vbdAbi = get(r, B_ABI);
  vbdFlags = get(r, B_FLAGS);
  vbdSectors = rd64(recFrame(r), recOff(r) + B_SECTORS);
  vbdLbsMask = get(r, B_LBS_SECTORS) - 1;
  vbdDevice = get(r, B_DEVICE);
  statOk = get(r, B_STAT_OK);
  statError = get(r, B_STAT_ERROR);
  statEopnotsupp = get(r, B_STAT_EOPNOTSUPP);
}

export function blkbackInit(): bool {
  table = allocFrames((MAX_BACK_RINGS * RECORD_BYTES) >> 12);
  reqBuf = rawAlloc(128, 16);
  segBuf = rawAlloc(MAX_INDIRECT_SEGMENTS * SEGMENT_BYTES, 16);
  iovBuf = rawAlloc(MAX_INDIRECT_SEGMENTS * 8, 16);
  return table != 0 && reqBuf != 0 && segBuf != 0 && iovBuf != 0;
}

// @ts-ignore: decorator
@inline function recFrame(r: u32): u32 { return table + ((r * RECORD_BYTES) >> 12); }
// @ts-ignore: decorator
@inline function recOff(r: u32): u32 { return (r * RECORD_BYTES) & 4095; }
function get(r: u32, field: u32): u32 { return rd32(recFrame(r), recOff(r) + field); }
function set(r: u32, field: u32, v: u32): void { wr32(recFrame(r), recOff(r) + field, v); }

export function backendState(r: u32): u32 { return r < MAX_BACK_RINGS ? get(r, B_STATE) : BACK_FREE; }
export function backendField(r: u32, field: u32): u32 { return get(r, field); }
export function backendLastMapStatus(): i32 { return lastMapStatus; }

/**
 * connect_ring + xen_blkif_map: map the frontend's ring grants `grefs`
 * (2^order of them, u32 each at `grefs`) and serve `device` through it.
 * Returns the ring id or a BACK_ERR_* code.
 */
export function backendConnect(
  backDom: u32, frontDom: u32, grefs: usize, order: u32, abi: u32,
  device: u32, flags: u32, sectors: u64, logicalBlockSize: u32,
): i32 {
  if (order > MAX_RING_PAGE_ORDER || abi > ABI_X86_32 || !domainIsLive(backDom)) return BACK_ERR_ARGS;
  if (logicalBlockSize < MIN_LOGICAL_BLOCK_SIZE || logicalBlockSize > MAX_LOGICAL_BLOCK_SIZE || (logicalBlockSize & (logicalBlockSize - 1)) != 0) return BACK_ERR_ARGS;
  let r: u32 = 0;
  while (r < MAX_BACK_RINGS && get(r, B_STATE) != BACK_FREE) r++;
  if (r == MAX_BACK_RINGS) return BACK_ERR_FULL;
  const pages: u32 = 1 << order;
  for (let i: u32 = 0; i < pages; i++) {
    const h = mapGrant(backDom, frontDom, load<u32>(grefs + (i << 2)), false);
    if (h < 0) {
      lastMapStatus = h;
      for (let j: u32 = 0; j < i; j++) unmapGrant(backDom, get(r, B_HANDLES + (j << 2)));
      return BACK_ERR_MAP;
    }
    set(r, B_HANDLES + (i << 2), <u32>h);
  }
  const entries = ringEntries(order, entryBytes(abi));
  set(r, B_STATE, BACK_CONNECTED);
  set(r, B_BACK_DOM, backDom);
  set(r, B_FRONT_DOM, frontDom);
  set(r, B_ORDER, order);
  set(r, B_ENTRIES, entries);
  set(r, B_ABI, abi);
  set(r, B_DEVICE, device);
  set(r, B_FLAGS, flags);
  wr64(recFrame(r), recOff(r) + B_SECTORS, sectors);
  set(r, B_LBS_SECTORS, logicalBlockSize >> 9);
  set(r, B_STAT_OK, 0);
  set(r, B_STAT_ERROR, 0);
  set(r, B_STAT_EOPNOTSUPP, 0);
  loadView(r); // just mapped: cannot fail
  // The backend starts from the shared indices the frontend left there.
  const rspProd = view.rd(RING_RSP_PROD);
  if (requestProdOverflow(entries, view.rd(RING_REQ_PROD), rspProd)) {
    backendDisconnect(r);
    return BACK_ERR_BOGUS;
  }
  set(r, B_REQ_CONS, rspProd);
  set(r, B_RSP_PROD_PVT, rspProd);
  return <i32>r;
}

/** xen_blkif_disconnect: unmap the ring. 0, or -1 for a ring that is not connected. */
export function backendDisconnect(r: u32): i32 {
  if (backendState(r) == BACK_FREE) return -1;
  const backDom = get(r, B_BACK_DOM);
  const pages: u32 = 1 << get(r, B_ORDER);
  for (let i: u32 = 0; i < pages; i++) unmapGrant(backDom, get(r, B_HANDLES + (i << 2)));
  touch(recFrame(r));
  memory.fill(frameAddr(recFrame(r)) + recOff(r), 0, RECORD_BYTES);
  return 0;
}

/** Points the view at the ring's mapped pages; false if a mapping is gone. */
function loadView(r: u32): bool {
  const backDom = get(r, B_BACK_DOM);
  const pages: u32 = 1 << get(r, B_ORDER);
  for (let i: u32 = 0; i < pages; i++) {
    const f = mappedFrame(backDom, get(r, B_HANDLES + (i << 2)));
    if (f == 0) return false;
    unchecked(view.frames[i] = f);
  }
  view.pages = pages;
  view.entries = get(r, B_ENTRIES);
  view.entryBytes = entryBytes(get(r, B_ABI));
  return true;
}

/** When the backend domain goes, so do its rings (their mappings are dropped with it). */
export function backendDisconnectAllOf(domid: u32): void {
  for (let r: u32 = 0; r < MAX_BACK_RINGS; r++) {
    if (get(r, B_STATE) != BACK_FREE && get(r, B_BACK_DOM) == domid) backendDisconnect(r);
  }
}

/** do_block_io_op over at most `budget` requests. Returns PROCESS_* bits | answered << PROCESS_ANSWERED_SHIFT. */
export function backendProcess(r: u32, budget: u32): u32 {
  const state = backendState(r);
  if (state == BACK_BOGUS) return PROCESS_BOGUS;
  if (state != BACK_CONNECTED || !loadView(r)) return 0;
  const entries = view.entries;
  loadVbd(r);
  let reqCons = get(r, B_REQ_CONS);
  let rspProdPvt = get(r, B_RSP_PROD_PVT);
  let answered: u32 = 0;
  let result: u32 = 0;
  while (true) {
    const rp = view.rd(RING_REQ_PROD);
    if (requestProdOverflow(entries, rp, rspProdPvt)) {
      set(r, B_STATE, BACK_BOGUS);
      result |= PROCESS_BOGUS;
      break;
    }
    let budgetLeft = true;
    while (reqCons != rp) {
      if (requestConsOverflow(entries, reqCons, rspProdPvt)) break;
      if (answered == budget) { budgetLeft = false; break; }
      view.copyOut(reqCons, reqBuf);
      reqCons++;
      handleRequest(rspProdPvt);
      rspProdPvt++;
      answered++;
    }
    if (!budgetLeft) { result |= PROCESS_MORE; break; }
    if (!finalCheckForRequests(view, reqCons, rspProdPvt)) break;
  }
  set(r, B_REQ_CONS, reqCons);
  set(r, B_RSP_PROD_PVT, rspProdPvt);
  set(r, B_STAT_OK, statOk);
  set(r, B_STAT_ERROR, statError);
  set(r, B_STAT_EOPNOTSUPP, statEopnotsupp);
  if (answered > 0 && pushAndCheckNotify(view, RING_RSP_PROD, RING_RSP_EVENT, rspProdPvt)) result |= PROCESS_NOTIFY;
  return result | (answered << PROCESS_ANSWERED_SHIFT);
}

function respond(slot: u32, id: u64, op: u8, status: i16): void {
  const off = view.slotOffset(slot);
  if ((off & (PAGE_SIZE - 1)) <= PAGE_SIZE - 16) {
    const f = unchecked(view.frames[off >> 12]);
    touch(f);
    const a = frameAddr(f) + (off & (PAGE_SIZE - 1));
    store<u64>(a + RESPONSE_ID, id);
    store<u8>(a + RESPONSE_OPERATION, op);
    store<i16>(a + RESPONSE_STATUS, status);
  } else {
    // The slot straddles two ring pages (x86_32 entries, multi-page rings).
    const tmp = reqBuf + 112; // scratch beyond the request copy
    store<u64>(tmp + RESPONSE_ID, id);
    store<u8>(tmp + RESPONSE_OPERATION, op);
    store<i16>(tmp + RESPONSE_STATUS, status);
    view.copyIn(slot, RESPONSE_ID, tmp + RESPONSE_ID, 8);
    view.copyIn(slot, RESPONSE_OPERATION, tmp + RESPONSE_OPERATION, 1);
    view.copyIn(slot, RESPONSE_STATUS, tmp + RESPONSE_STATUS, 2);
  }
  if (status == BLKIF_RSP_OKAY) statOk++;
  else if (status == BLKIF_RSP_ERROR) statError++;
  else statEopnotsupp++;
}

function handleRequest(slot: u32): void {
  const abi = vbdAbi;
  const op = load<u8>(reqBuf + BLKIF_REQ_OPERATION);
  const id = load<u64>(reqBuf + reqIdOffset(abi));
  if (op == BLKIF_OP_DISCARD) {
    respond(slot, id, op, discard(abi));
  } else if (op <= BLKIF_OP_FLUSH_DISKCACHE || op == BLKIF_OP_INDIRECT) {
    const reqOp = op == BLKIF_OP_INDIRECT ? load<u8>(reqBuf + BLKIF_INDIRECT_OP) : op;
    respond(slot, id, reqOp, readWrite(abi, op, reqOp));
  } else {
    respond(slot, id, op, BLKIF_RSP_EOPNOTSUPP); // dispatch_other_io, RESERVED_1 included
  }
}

/** dispatch_rw_block_io for READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE and INDIRECT. */
function readWrite(abi: u32, op: u8, reqOp: u8): i16 {
  const indirect = op == BLKIF_OP_INDIRECT;
  if (indirect && reqOp != BLKIF_OP_READ && reqOp != BLKIF_OP_WRITE) return BLKIF_RSP_ERROR;
  const isRead = reqOp == BLKIF_OP_READ;
  const flush = reqOp == BLKIF_OP_WRITE_BARRIER || reqOp == BLKIF_OP_FLUSH_DISKCACHE;
  const nseg: u32 = indirect ? <u32>load<u16>(reqBuf + BLKIF_INDIRECT_NR_SEGMENTS) : <u32>load<u8>(reqBuf + BLKIF_REQ_NR_SEGMENTS);
  if ((nseg == 0 && !flush) || nseg > (indirect ? MAX_INDIRECT_SEGMENTS : BLKIF_MAX_SEGMENTS_PER_REQUEST)) return BLKIF_RSP_ERROR;
  const backDom = vbdBackDom;
  const frontDom = vbdFrontDom;

  // Gather the segments into segBuf (their own copy, validated there).
  if (indirect) {
    if (!copyIndirectSegments(backDom, frontDom, abi, nseg)) return BLKIF_RSP_ERROR;
  } else {
    copySmall(segBuf, reqBuf + rwSegOffset(abi), nseg * SEGMENT_BYTES);
  }
  // Segment sectors within the page, and "Misaligned I/O request": the
  // start and every segment in whole logical blocks. (Linux checks the
  // alignment after xen_vbd_translate; every failure here is the same
  // BLKIF_RSP_ERROR with nothing done, so the order cannot be observed.)
  const sector = load<u64>(reqBuf + reqSectorOffset(abi));
  const lbsMask = vbdLbsMask;
  let nrSects: u64 = 0;
  for (let i: u32 = 0; i < nseg; i++) {
    const s = segBuf + i * SEGMENT_BYTES;
    const first = <u32>load<u8>(s + SEGMENT_FIRST_SECT);
    const last = <u32>load<u8>(s + SEGMENT_LAST_SECT);
    if (last >= SECTORS_PER_PAGE || last < first) return BLKIF_RSP_ERROR;
    const nsec = last - first + 1;
    if (((<u32>sector | nsec) & lbsMask) != 0) return BLKIF_RSP_ERROR;
    nrSects += <u64>nsec;
  }
  // xen_vbd_translate
  if (!isRead && (vbdFlags & VBD_READ_ONLY) != 0) return BLKIF_RSP_ERROR;
  if (nrSects != 0) {
    const end = sector + nrSects;
    if (end < sector || end > vbdSectors) return BLKIF_RSP_ERROR;
  }
  // Map every segment, move the data, unmap: as one pass over the grants
  // that yields an I/O vector (grantSegmentsForIO has map-then-unmap's
  // checks and net effect). The segments are consecutive sectors of the vbd.
  const total = grantSegmentsForIO(backDom, frontDom, segBuf, nseg, !isRead, iovBuf);
  if (total < 0) return BLKIF_RSP_ERROR;
  if (nseg == 0) return BLKIF_RSP_OKAY; // a flush: nothing is cached, nothing to write
  const bytes = <u64>total;
  const dev = vbdDevice;
  const ioOp = isRead ? IO_READ : IO_WRITE;
  // The common case, a request that reaches one image through linear
  // targets without being split, moves in one pass; anything else goes
  // segment by segment through the general mapping, which splits and fails
  // exactly where the stack says.
  if (resolveToImage(dev, sector, nrSects, ioOp)) {
    const img = resolvedImage;
    const offset = resolvedOffset;
    if (!isRead) return imageWriteVecExtending(img, offset, iovBuf, nseg, bytes) ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
    if (offset + bytes <= imageSize(img)) return imageTransferVec(img, offset, iovBuf, nseg, false) ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
  }
  let at = sector;
  for (let i: u32 = 0; i < nseg; i++) {
    const len = load<u32>(iovBuf + (i << 3) + 4);
    if (deviceIO(dev, at, <u64>(len >> 9), ioOp, <usize>load<u32>(iovBuf + (i << 3))) != IO_OK) return BLKIF_RSP_ERROR;
    at += <u64>(len >> 9);
  }
  return BLKIF_RSP_OKAY;
}

/** xen_blkbk_parse_indirect: map the descriptor pages read-only, copy the segments out, unmap. */
function copyIndirectSegments(backDom: u32, frontDom: u32, abi: u32, nseg: u32): bool {
  const pages = (nseg + SEGMENTS_PER_INDIRECT_FRAME - 1) / SEGMENTS_PER_INDIRECT_FRAME;
  const grefs = reqBuf + indirectGrefsOffset(abi);
  let copied: u32 = 0;
  for (let p: u32 = 0; p < pages; p++) {
    const h = mapGrant(backDom, frontDom, load<u32>(grefs + (p << 2)), true);
    if (h < 0) return false;
    const n = min(nseg - copied, SEGMENTS_PER_INDIRECT_FRAME);
    memory.copy(segBuf + copied * SEGMENT_BYTES, frameAddr(mappedFrame(backDom, <u32>h)), n * SEGMENT_BYTES);
    unmapGrant(backDom, <u32>h);
    copied += n;
  }
  return true;
}

/** dispatch_discard_io. */
function discard(abi: u32): i16 {
  const sector = load<u64>(reqBuf + reqSectorOffset(abi));
  const nr = load<u64>(reqBuf + discardNrOffset(abi));
  if ((vbdFlags & VBD_READ_ONLY) != 0) return BLKIF_RSP_ERROR;
  if (nr != 0) {
    const end = sector + nr;
    if (end < sector || end > vbdSectors) return BLKIF_RSP_ERROR;
  }
  // A device without discard support fails blkdev_issue_discard with -EOPNOTSUPP.
  if ((vbdFlags & VBD_DISCARD) == 0) return BLKIF_RSP_EOPNOTSUPP;
  if (nr == 0) return BLKIF_RSP_OKAY;
  return deviceIO(vbdDevice, sector, nr, IO_DISCARD, 0) == IO_OK ? BLKIF_RSP_OKAY : BLKIF_RSP_ERROR;
}

export const FIELD_REQ_CONS = B_REQ_CONS;
export const FIELD_RSP_PROD_PVT = B_RSP_PROD_PVT;
export const FIELD_ENTRIES = B_ENTRIES;
export const FIELD_STAT_OK = B_STAT_OK;
export const FIELD_STAT_ERROR = B_STAT_ERROR;
export const FIELD_STAT_EOPNOTSUPP = B_STAT_EOPNOTSUPP;
