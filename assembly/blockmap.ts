// Block mapping: how a sector of a block device reaches bytes of an image.
//
// A device is either backed by an image (a loop device: byte offset into the
// file, size already limited by lo_sizelimit) or a device-mapper table
// compiled by the control plane into a flat array of targets sorted by start
// sector. Stacks (dm over loop over a file) are followed device by device;
// a request is split wherever it crosses a target or a stripe chunk.
//
// Device record, 32 bytes:
//   +0 u32 kind (0 none, 1 image, 2 dm table)   +4 u32 flags (1 = read-only)
//   +8 u64 size in 512-byte sectors
//   image: +16 u32 image id   +24 u64 byte offset into the image (lo_offset)
//   table: +16 u32 table frame
// Table frame: +0 u32 target count, +4 u32 stripe-leg count, targets from +16,
// then legs. Target, 32 bytes:
//   +0 u64 start   +8 u64 length   +16 u16 type   +18 u16 stripes
//   +20 u32 device (linear) or first leg (striped)   +24 u64 offset (linear) or chunk sectors (striped)
// Leg, 16 bytes: +0 u32 device   +8 u64 physical start sector.
// JavaScript writes the targets and legs (deviceSetTable), so their offsets
// are constants of abi.ts; the device record is this file's own.
//
// dm-stripe's formula (stripe_map_sector): with o the sector within the
// target and c the chunk size, chunk = o / c, stripe = chunk % stripes,
// result = (chunk / stripes) * c + o % c + leg start.

import { allocFrame, freeFrame, frameAddr, rd32, touch, wr32 } from "./arena";
import { imageExists, imageRead, imageWriteExtending, imageDiscard, imageSize } from "./image";
import {
  MAX_DEVICES, DEV_READ_ONLY, MAX_TABLE_BYTES, TABLE_HEADER_BYTES,
  TARGET_LINEAR, TARGET_STRIPED, TARGET_ZERO, TARGET_ERROR, TARGET_BYTES, LEG_BYTES,
  TARGET_START, TARGET_LENGTH, TARGET_TYPE, TARGET_STRIPES, TARGET_DEVICE, TARGET_FIRST_LEG,
  TARGET_OFFSET, TARGET_CHUNK_SECTORS, LEG_DEVICE, LEG_START,
  IO_READ, IO_DISCARD, IO_OK, IO_ERROR, IO_READ_ONLY, IO_NO_SPACE,
} from "./abi";

export const DEV_NONE: u32 = 0;
export const DEV_IMAGE: u32 = 1;
export const DEV_TABLE: u32 = 2;
const MAX_STACK_DEPTH: u32 = 16;

let deviceTable: u32 = 0; // first of two consecutive frames

export function devicesInit(): bool {
  deviceTable = allocFrame();
  const second = allocFrame();
  return deviceTable != 0 && second == deviceTable + 1;
}

// @ts-ignore: decorator
@inline function devFrame(dev: u32): u32 { return deviceTable + (dev >> 7); }
// @ts-ignore: decorator
@inline function devOff(dev: u32): u32 { return (dev & 127) << 5; }

export function deviceKind(dev: u32): u32 { return dev < MAX_DEVICES ? rd32(devFrame(dev), devOff(dev)) : DEV_NONE; }
export function deviceSectors(dev: u32): u64 { return load<u64>(frameAddr(devFrame(dev)) + devOff(dev) + 8); }
export function deviceReadOnly(dev: u32): bool { return (rd32(devFrame(dev), devOff(dev) + 4) & DEV_READ_ONLY) != 0; }

function clearDevice(dev: u32): void {
  const f = devFrame(dev);
  if (rd32(f, devOff(dev)) == DEV_TABLE) freeFrame(rd32(f, devOff(dev) + 16));
  touch(f);
  memory.fill(frameAddr(f) + devOff(dev), 0, 32);
}

/** A loop device: `sectors` of `img` from byte `offset`. -1 for bad arguments. */
export function deviceSetImage(dev: u32, img: u32, offset: u64, sectors: u64, flags: u32): i32 {
  if (dev >= MAX_DEVICES || !imageExists(img)) return -1;
  clearDevice(dev);
  const f = devFrame(dev);
  const a = frameAddr(f) + devOff(dev);
  store<u32>(a, DEV_IMAGE);
  store<u32>(a + 4, flags);
  store<u64>(a + 8, sectors);
  store<u32>(a + 16, img);
  store<u64>(a + 24, offset);
  return 0;
}

/**
 * A device-mapper table, read from `src` (targets then legs, in the layout
 * above). Checked here so that no table can send a request astray: targets
 * contiguous from sector 0, lengths non-zero, devices and legs in range,
 * stripe chunks non-zero. -1 when the table is malformed.
 */
export function deviceSetTable(dev: u32, src: usize, targets: u32, legs: u32, flags: u32): i32 {
  if (dev >= MAX_DEVICES || targets == 0) return -1;
  if (<u64>targets * TARGET_BYTES + <u64>legs * LEG_BYTES > <u64>MAX_TABLE_BYTES) return -1;
  let next: u64 = 0;
  for (let i: u32 = 0; i < targets; i++) {
    const t = src + <usize>(i * TARGET_BYTES);
    const len = load<u64>(t + TARGET_LENGTH);
    if (load<u64>(t + TARGET_START) != next || len == 0 || next + len < next) return -1;
    next += len;
    const type = load<u16>(t + TARGET_TYPE);
    if (type == TARGET_LINEAR) {
      if (load<u32>(t + TARGET_DEVICE) >= MAX_DEVICES) return -1;
    } else if (type == TARGET_STRIPED) {
      const stripes = <u32>load<u16>(t + TARGET_STRIPES);
      const first = load<u32>(t + TARGET_FIRST_LEG);
      if (stripes == 0 || <u64>first + <u64>stripes > <u64>legs || load<u64>(t + TARGET_CHUNK_SECTORS) == 0) return -1;
    } else if (type != TARGET_ZERO && type != TARGET_ERROR) {
      return -1;
    }
  }
  const legBase = src + <usize>(targets * TARGET_BYTES);
  for (let i: u32 = 0; i < legs; i++) {
    if (load<u32>(legBase + <usize>(i * LEG_BYTES) + LEG_DEVICE) >= MAX_DEVICES) return -1;
  }
  const table = allocFrame();
  if (table == 0) return -1;
  const ta = frameAddr(table);
  store<u32>(ta, targets);
  store<u32>(ta + 4, legs);
  memory.copy(ta + TABLE_HEADER_BYTES, src, <usize>(targets * TARGET_BYTES + legs * LEG_BYTES));
  clearDevice(dev);
  const f = devFrame(dev);
  const a = frameAddr(f) + devOff(dev);
  store<u32>(a, DEV_TABLE);
  store<u32>(a + 4, flags);
  store<u64>(a + 8, next);
  store<u32>(a + 16, table);
  return 0;
}

export function deviceClear(dev: u32): i32 {
  if (dev >= MAX_DEVICES) return -1;
  clearDevice(dev);
  return 0;
}

/**
 * Moves `nsect` sectors between device `dev` at `sector` and linear memory
 * at `buf` (read, write) or discards them. IO_OK or a negative errno.
 */
export function deviceIO(dev: u32, sector: u64, nsect: u64, op: u32, buf: usize): i32 {
  return io(dev, sector, nsect, op, buf, 0);
}

function io(dev: u32, sector: u64, nsect: u64, op: u32, buf: usize, depth: u32): i32 {
  if (depth >= MAX_STACK_DEPTH || dev >= MAX_DEVICES) return IO_ERROR;
  const kind = deviceKind(dev);
  if (kind == DEV_NONE) return IO_ERROR;
  const end = sector + nsect;
  if (end < sector || end > deviceSectors(dev)) return IO_ERROR;
  if (op != IO_READ && deviceReadOnly(dev)) return IO_READ_ONLY;
  if (kind == DEV_IMAGE) return imageIO(dev, sector, nsect, op, buf);

  const ta = frameAddr(rd32(devFrame(dev), devOff(dev) + 16));
  const targets = load<u32>(ta);
  const legs = ta + TABLE_HEADER_BYTES + <usize>(targets * TARGET_BYTES);
  let i = findTarget(ta, targets, sector);
  while (nsect > 0) {
    const t = ta + TABLE_HEADER_BYTES + <usize>(i * TARGET_BYTES);
    const start = load<u64>(t + TARGET_START);
    const o = sector - start;
    const piece = min<u64>(nsect, load<u64>(t + TARGET_LENGTH) - o);
    const type = load<u16>(t + TARGET_TYPE);
    let rc: i32 = IO_OK;
    if (type == TARGET_LINEAR) {
      rc = io(load<u32>(t + TARGET_DEVICE), load<u64>(t + TARGET_OFFSET) + o, piece, op, buf, depth + 1);
    } else if (type == TARGET_STRIPED) {
      rc = stripedIO(t, legs, o, piece, op, buf, depth);
    } else if (type == TARGET_ZERO) {
      if (op == IO_READ) memory.fill(buf, 0, <usize>(piece << 9));
    } else {
      rc = IO_ERROR;
    }
    if (rc != IO_OK) return rc;
    sector += piece; nsect -= piece; i++;
    if (op != IO_DISCARD) buf += <usize>(piece << 9);
  }
  return IO_OK;
}

function stripedIO(t: usize, legs: usize, o: u64, nsect: u64, op: u32, buf: usize, depth: u32): i32 {
  const stripes = <u64>load<u16>(t + TARGET_STRIPES);
  const firstLeg = load<u32>(t + TARGET_FIRST_LEG);
  const chunkSectors = load<u64>(t + TARGET_CHUNK_SECTORS);
  while (nsect > 0) {
    const chunk = o / chunkSectors;
    const inChunk = o % chunkSectors;
    const stripe = <u32>(chunk % stripes);
    const piece = min<u64>(nsect, chunkSectors - inChunk);
    const leg = legs + <usize>((firstLeg + stripe) * LEG_BYTES);
    const legSector = load<u64>(leg + LEG_START) + (chunk / stripes) * chunkSectors + inChunk;
    const rc = io(load<u32>(leg + LEG_DEVICE), legSector, piece, op, buf, depth + 1);
    if (rc != IO_OK) return rc;
    o += piece; nsect -= piece;
    if (op != IO_DISCARD) buf += <usize>(piece << 9);
  }
  return IO_OK;
}

/** Binary search for the target containing `sector` (the table covers it: checked by the caller). */
function findTarget(ta: usize, targets: u32, sector: u64): u32 {
  let lo: u32 = 0;
  let hi: u32 = targets - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (load<u64>(ta + TABLE_HEADER_BYTES + <usize>(mid * TARGET_BYTES) + TARGET_START) <= sector) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// The result of resolveToImage.
export let resolvedImage: u32 = 0;
export let resolvedOffset: u64 = 0;

/**
 * Follows a request down the stack without splitting it: through linear
 * targets only, to an image. Sets resolvedImage and resolvedOffset (a byte
 * offset) and returns true; false when the request would be split, refused
 * or fail anywhere, in which case deviceIO must be used and will say how.
 */
export function resolveToImage(dev: u32, sector: u64, nsect: u64, op: u32): bool {
  for (let depth: u32 = 0; depth < MAX_STACK_DEPTH; depth++) {
    if (dev >= MAX_DEVICES) return false;
    const a = frameAddr(devFrame(dev)) + devOff(dev);
    const kind = load<u32>(a);
    const end = sector + nsect;
    if (kind == DEV_NONE || end < sector || end > load<u64>(a + 8)) return false;
    if (op != IO_READ && (load<u32>(a + 4) & DEV_READ_ONLY) != 0) return false;
    if (kind == DEV_IMAGE) {
      const img = load<u32>(a + 16);
      if (!imageExists(img)) return false;
      resolvedImage = img;
      resolvedOffset = load<u64>(a + 24) + (sector << 9);
      return true;
    }
    const ta = frameAddr(load<u32>(a + 16));
    const t = ta + TABLE_HEADER_BYTES + <usize>(findTarget(ta, load<u32>(ta), sector) * TARGET_BYTES);
    if (load<u16>(t + TARGET_TYPE) != TARGET_LINEAR) return false;
    const o = sector - load<u64>(t + TARGET_START);
    if (nsect > load<u64>(t + TARGET_LENGTH) - o) return false;
    dev = load<u32>(t + TARGET_DEVICE);
    sector = load<u64>(t + TARGET_OFFSET) + o;
  }
  return false;
}

function imageIO(dev: u32, sector: u64, nsect: u64, op: u32, buf: usize): i32 {
  const a = frameAddr(devFrame(dev)) + devOff(dev);
  const img = load<u32>(a + 16);
  if (!imageExists(img)) return IO_ERROR; // the backing file was deleted under the device
  const offset = load<u64>(a + 24) + (sector << 9);
  const bytes = nsect << 9;
  // A loop device's size was computed from its file; reads past a file that
  // has since shrunk see zeros (the real loop driver zero-fills short reads).
  if (op == IO_READ) {
    const size = imageSize(img);
    const avail: u64 = offset >= size ? 0 : min<u64>(bytes, size - offset);
    if (avail > 0) imageRead(img, offset, buf, <u32>avail);
    if (avail < bytes) memory.fill(buf + <usize>avail, 0, <usize>(bytes - avail));
    return IO_OK;
  }
  if (op == IO_DISCARD) {
    imageDiscard(img, offset, bytes);
    return IO_OK;
  }
  // Writing past the end of the file extends it, as a write through a loop device does.
  return imageWriteExtending(img, offset, buf, <u32>bytes) ? IO_OK : IO_NO_SPACE;
}
