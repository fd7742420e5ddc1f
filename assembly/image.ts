// Sparse backing stores: the bytes of image files (what a loop device or a
// file-backed disk reads and writes).
//
// An image is a 3-level radix tree of 1024-entry frames over 4 KiB blocks
// (up to 2^30 blocks = 4 TiB). A block that was never written has no frame
// and reads as zeros, so an 8 GiB image costs one record until it is used.
// Discarding whole blocks frees them (a hole punched in the file).

import { allocFrame, freeFrame, frameAddr, rd32, touch, wr32, PAGE_SHIFT } from "./arena";
import { PAGE_SIZE, MAX_IMAGES, MAX_IMAGE_BYTES } from "./abi";

// Image record, 16 bytes: +0 u64 size in bytes, +8 u32 radix root frame, +12 u32 data blocks in use.
let imageTable: u32 = 0;

export function imagesInit(): bool {
  imageTable = allocFrame();
  return imageTable != 0;
}

// @ts-ignore: decorator
@inline function rec(img: u32): u32 { return img << 4; }

export function imageExists(img: u32): bool {
  return img < MAX_IMAGES && rd32(imageTable, rec(img) + 8) != 0;
}
export function imageSize(img: u32): u64 { return load<u64>(frameAddr(imageTable) + rec(img)); }
export function imageBlocks(img: u32): u32 { return rd32(imageTable, rec(img) + 12); }

/** 0, -1 for a bad id, size or an id in use, -2 when the arena is full. */
export function imageCreate(img: u32, size: u64): i32 {
  if (img >= MAX_IMAGES || imageExists(img) || size > MAX_IMAGE_BYTES) return -1;
  const root = allocFrame();
  if (root == 0) return -2;
  touch(imageTable);
  store<u64>(frameAddr(imageTable) + rec(img), size);
  wr32(imageTable, rec(img) + 8, root);
  wr32(imageTable, rec(img) + 12, 0);
  return 0;
}

export function imageResize(img: u32, size: u64): i32 {
  if (!imageExists(img) || size > MAX_IMAGE_BYTES) return -1;
  const old = imageSize(img);
  if (size < old) {
    // Bytes past the new end must read as zeros if the file grows again.
    imageDiscard(img, size, old - size);
  }
  touch(imageTable);
  store<u64>(frameAddr(imageTable) + rec(img), size);
  return 0;
}

/** The leaf table (1024 block entries) covering `block`; with `alloc`, created when absent (0 only when the arena is full). */
function leafFor(img: u32, block: u32, alloc: bool): u32 {
  let node = rd32(imageTable, rec(img) + 8);
  for (let level = 0; level < 2; level++) {
    const off = ((block >> <u32>(20 - level * 10)) & 1023) << 2;
    let next = rd32(node, off);
    if (next == 0) {
      if (!alloc) return 0;
      next = allocFrame();
      if (next == 0) return 0;
      wr32(node, off, next);
    }
    node = next;
  }
  return node;
}

/** The data frame of `block` in `leaf`; with `alloc`, fills a hole (0 only when the arena is full). */
function leafBlock(img: u32, leaf: u32, block: u32, alloc: bool): u32 {
  const off = (block & 1023) << 2;
  let f = rd32(leaf, off);
  if (f == 0 && alloc) {
    f = allocFrame();
    if (f == 0) return 0;
    wr32(leaf, off, f);
    wr32(imageTable, rec(img) + 12, imageBlocks(img) + 1);
  }
  return f;
}

/** The data frame of a block, 0 for a hole. With `alloc`, fills the hole (0 only when the arena is full). */
function blockFrame(img: u32, block: u32, alloc: bool): u32 {
  const leaf = leafFor(img, block, alloc);
  return leaf == 0 ? 0 : leafBlock(img, leaf, block, alloc);
}

/**
 * Vectored transfer between the image bytes from `offset` and `count`
 * buffers (u32 address, u32 length pairs at `iov`), as one contiguous range:
 * how a request of several segments reaches a file. The radix walk is done
 * once per 1024 blocks, not per block. For reads the caller has checked that
 * the range lies within the image. False when the arena is full.
 */
export function imageTransferVec(img: u32, offset: u64, iov: usize, count: u32, write: bool): bool {
  let leaf: u32 = 0;
  let leafAddr: usize = 0;
  let leafKey: u32 = 0xFFFF_FFFF;
  // Pieces that continue each other on both sides (adjacent frames, as
  // sequentially written images and guest buffers often are) are moved by
  // one memory.copy, as the block layer merges contiguous segments.
  let runDst: usize = 0;
  let runSrc: usize = 0;
  let runLen: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    let addr = <usize>load<u32>(iov + (<usize>i << 3));
    let len = load<u32>(iov + (<usize>i << 3) + 4);
    while (len > 0) {
      const block = <u32>(offset >> PAGE_SHIFT);
      const inBlock = <u32>offset & (PAGE_SIZE - 1);
      const n = min(len, PAGE_SIZE - inBlock);
      if ((block >> 10) != leafKey) {
        leaf = leafFor(img, block, write);
        if (leaf == 0 && write) return false;
        leafAddr = leaf == 0 ? 0 : frameAddr(leaf);
        leafKey = block >> 10;
      }
      let f: u32 = leaf == 0 ? 0 : load<u32>(leafAddr + ((block & 1023) << 2));
      if (f == 0 && write) f = leafBlock(img, leaf, block, true); // fill the hole
      if (write && f == 0) return false;
      if (f == 0) {
        // A hole reads as zeros.
        if (runLen > 0) { memory.copy(runDst, runSrc, runLen); runLen = 0; }
        memory.fill(addr, 0, n);
      } else {
        if (write) touch(f);
        const blockAddr = frameAddr(f) + inBlock;
        const dst = write ? blockAddr : addr;
        const src = write ? addr : blockAddr;
        if (runLen > 0 && dst == runDst + runLen && src == runSrc + runLen) {
          runLen += n;
        } else {
          if (runLen > 0) memory.copy(runDst, runSrc, runLen);
          runDst = dst;
          runSrc = src;
          runLen = n;
        }
      }
      addr += n; offset += n; len -= n;
    }
  }
  if (runLen > 0) memory.copy(runDst, runSrc, runLen);
  return true;
}

/** Copies image bytes to linear memory; holes read as zeros. The caller has checked bounds. */
export function imageRead(img: u32, offset: u64, dst: usize, len: u32): void {
  while (len > 0) {
    const block = <u32>(offset >> PAGE_SHIFT);
    const inBlock = <u32>offset & (PAGE_SIZE - 1);
    const n = min(len, PAGE_SIZE - inBlock);
    const f = blockFrame(img, block, false);
    if (f == 0) memory.fill(dst, 0, n);
    else memory.copy(dst, frameAddr(f) + inBlock, n);
    dst += n; offset += n; len -= n;
  }
}

/** Copies linear memory into the image. False when the arena is full. The caller has checked bounds. */
export function imageWrite(img: u32, offset: u64, src: usize, len: u32): bool {
  while (len > 0) {
    const block = <u32>(offset >> PAGE_SHIFT);
    const inBlock = <u32>offset & (PAGE_SIZE - 1);
    const n = min(len, PAGE_SIZE - inBlock);
    const f = blockFrame(img, block, true);
    if (f == 0) return false;
    touch(f);
    memory.copy(frameAddr(f) + inBlock, src, n);
    src += n; offset += n; len -= n;
  }
  return true;
}

/**
 * A write that may run past the end of the file, which then grows. If the
 * arena runs out part way, the size stays as it was and whatever landed past
 * the end is discarded, so that bytes past the end still read as zeros when
 * the file grows later. False in that case.
 */
export function imageWriteExtending(img: u32, offset: u64, src: usize, len: u32): bool {
  const size = imageSize(img);
  const end = offset + <u64>len;
  if (!imageWrite(img, offset, src, len)) {
    if (end > size) imageDiscard(img, size, end - size);
    return false;
  }
  if (end > size) imageResize(img, end);
  return true;
}

/** imageTransferVec for a write that may run past the end, with imageWriteExtending's rules. */
export function imageWriteVecExtending(img: u32, offset: u64, iov: usize, count: u32, bytes: u64): bool {
  const size = imageSize(img);
  const end = offset + bytes;
  if (!imageTransferVec(img, offset, iov, count, true)) {
    if (end > size) imageDiscard(img, size, end - size);
    return false;
  }
  if (end > size) imageResize(img, end);
  return true;
}

/** Punches a hole: whole blocks are freed, partial blocks zeroed. */
export function imageDiscard(img: u32, offset: u64, len: u64): void {
  let end = offset + len;
  while (offset < end) {
    const block = <u32>(offset >> PAGE_SHIFT);
    const inBlock = <u32>offset & (PAGE_SIZE - 1);
    const n = min<u64>(end - offset, <u64>(PAGE_SIZE - inBlock));
    if (inBlock == 0 && n == <u64>PAGE_SIZE) {
      freeBlock(img, block);
    } else {
      const f = blockFrame(img, block, false);
      if (f != 0) { touch(f); memory.fill(frameAddr(f) + inBlock, 0, <usize>n); }
    }
    offset += n;
  }
}

function freeBlock(img: u32, block: u32): void {
  const l1 = rd32(rd32(imageTable, rec(img) + 8), ((block >> 20) & 1023) << 2);
  if (l1 == 0) return;
  const l2 = rd32(l1, ((block >> 10) & 1023) << 2);
  if (l2 == 0) return;
  const off = (block & 1023) << 2;
  const f = rd32(l2, off);
  if (f == 0) return;
  wr32(l2, off, 0);
  freeFrame(f);
  wr32(imageTable, rec(img) + 12, imageBlocks(img) - 1);
}

/** Frees an image and every frame it used. */
export function imageDestroy(img: u32): i32 {
  if (!imageExists(img)) return -1;
  const root = rd32(imageTable, rec(img) + 8);
  for (let i: u32 = 0; i < 1024; i++) {
    const l1 = rd32(root, i << 2);
    if (l1 == 0) continue;
    for (let j: u32 = 0; j < 1024; j++) {
      const l2 = rd32(l1, j << 2);
      if (l2 == 0) continue;
      for (let k: u32 = 0; k < 1024; k++) {
        const f = rd32(l2, k << 2);
        if (f != 0) freeFrame(f);
      }
      freeFrame(l2);
    }
    freeFrame(l1);
  }
  freeFrame(root);
  touch(imageTable);
  memory.fill(frameAddr(imageTable) + rec(img), 0, 16);
  return 0;
}
