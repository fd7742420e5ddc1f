// A loop device's life (drivers/block/loop.c): loop_add, loop_remove, the
// size it exports, and __loop_clr_fd, the unbind every detach path ends in.
// docs/linux-model.md §3.2 and §5.2.

import type { StepContext } from "../../sim/op";
import type { Store } from "../../sim/store";
import { addDisk, allocDisk, bumpDiskseq, delDisk, mediaChange, queueUevent, readDisk, SECTOR } from "../block";
import { blkdevClose } from "../bdev";
import { FILE, filePath, isTextFile } from "../files";
import { LOOP_MAJOR } from "../kconfig";
import { must, type Kernel } from "../kernel";
import { DISK, LOOP, type Gendisk, type LoopDevice, type LoopState } from "../objects";
import { dropClean } from "../pagecache";

/** uapi loop.h */
export const LO_FLAGS = {
  LO_FLAGS_READ_ONLY: 1,
  LO_FLAGS_AUTOCLEAR: 4,
  LO_FLAGS_PARTSCAN: 8,
  LO_FLAGS_DIRECT_IO: 16,
} as const;
export const LO_NAME_SIZE = 64;
/** What LOOP_CONFIGURE accepts in lo_flags. */
export const LOOP_CONFIGURE_SETTABLE_FLAGS = 1 | 4 | 8 | 16;
/** What LOOP_SET_STATUS may set, and the only flag it may clear. */
export const LOOP_SET_STATUS_SETTABLE_FLAGS = 4 | 8;
export const LOOP_SET_STATUS_CLEARABLE_FLAGS = 4;

/** The largest loop index the model accepts (the minor must fit MINORBITS = 20 with part_shift 0). */
export const MAX_LOOP_INDEX = (1 << 20) - 1;

export function readLoop(store: Store, key: string): LoopDevice {
  return must(LOOP.get(store, key), `loop device ${key}`);
}

/** LOOP.update, and a "loop-state" event when the state changes. */
export function writeLoop(ctx: StepContext, d: string, key: string, lo: LoopDevice, change: Partial<LoopDevice>): LoopDevice {
  const next = LOOP.update(ctx.store, key, lo, change);
  if (change.state !== undefined && change.state !== lo.state) {
    ctx.emit({ kind: "loop-state", domain: d, index: lo.index, from: lo.state, to: change.state });
  }
  return next;
}

/** loop_add: a new unbound device with a new disk (the next diskseq), its node, sysfs directory and `add` uevent. */
export function loopAdd(ctx: StepContext, d: string, index: number): string {
  const key = LOOP.key(d, index);
  const disk = allocDisk(ctx, d, { name: `loop${index}`, major: LOOP_MAJOR, minor: index, driver: "loop", driverKey: key });
  const lo: LoopDevice = { index, disk, state: "unbound", backing: null, offset: 0, sizelimit: 0, flags: 0, fileName: "", blockSize: 512 };
  LOOP.set(ctx.store, key, lo);
  addDisk(ctx, d, disk);
  return key;
}

/** loop_remove: the disk is deleted (node and sysfs go at once) and the index is free. */
export function loopRemove(ctx: StepContext, d: string, key: string): void {
  const lo = readLoop(ctx.store, key);
  writeLoop(ctx, d, key, lo, { state: "deleting" });
  delDisk(ctx, d, lo.disk);
  LOOP.delete(ctx.store, key);
}

/** Bytes of what a backing key refers to: an image's or a text file's size, or a disk's capacity. */
export function backingBytes(store: Store, backing: string): number {
  if (DISK.is(backing)) return readDisk(store, backing).sectors * SECTOR;
  const f = must(FILE.get(store, backing), `backing file ${backing}`);
  return isTextFile(f) ? new TextEncoder().encode(f.content).length : f.size;
}

/** get_size: what the device exports, in sectors: (size − offset), capped by sizelimit; 0 past the end. */
export function loopSectors(store: Store, backing: string, offset: number, sizelimit: number): number {
  const size = backingBytes(store, backing);
  let bytes = size - offset;
  if (bytes < 0) return 0;
  if (sizelimit > 0 && sizelimit < bytes) bytes = sizelimit;
  return Math.floor(bytes / SECTOR);
}

/** The path sysfs `loop/backing_file` shows: the file's path, or /dev/NAME of a backing block device (`diskName` reads its name). */
export function backingPath(lo: LoopDevice, diskName: (key: string) => string | undefined): string {
  const b = lo.backing?.file ?? "";
  if (FILE.is(b)) return filePath(b);
  return `/dev/${diskName(b) ?? "(deleted)"}`;
}

/**
 * __loop_clr_fd: the unbind, effects in the kernel's order. The backing
 * goes, capacity 0; a `change` uevent with the diskseq from before; the
 * media change (the next diskseq on 6.1.192 and later); flags 0; with
 * `loop-release-diskseq`, one more diskseq; state unbound.
 */
export function loopUnbind(ctx: StepContext, k: Kernel, d: string, key: string): void {
  let lo = readLoop(ctx.store, key);
  const backing = lo.backing;
  lo = writeLoop(ctx, d, key, lo, { backing: null, offset: 0, sizelimit: 0, fileName: "", blockSize: 512 });
  // invalidate_disk: the clean cached pages go (dirty ones stay, and past the new end are never written).
  dropClean(ctx, lo.disk);
  // The queue's block sizes go back to 512 (__loop_clr_fd).
  let disk: Gendisk = DISK.update(ctx.store, lo.disk, readDisk(ctx.store, lo.disk), { sectors: 0, readOnly: false, logicalBlockSize: SECTOR, physicalBlockSize: SECTOR });
  queueUevent(ctx, d, disk, "change");
  disk = mediaChange(ctx, k, d, lo.disk);
  lo = writeLoop(ctx, d, key, lo, { flags: 0 });
  // Patch 4/7 adds inc_diskseq right before the state becomes unbound. On a
  // kernel that already bumps in the media change, the device takes two numbers.
  if (k.cfg.patches["loop-release-diskseq"]) bumpDiskseq(ctx, d, lo.disk, disk);
  writeLoop(ctx, d, key, lo, { state: "unbound" });
  // The backing file's reference goes; on a block device that is an opener.
  if (backing && DISK.is(backing.file) && DISK.has(ctx.store, backing.file)) blkdevClose(ctx, k, d, backing.file);
}

export function isBoundLike(state: LoopState): boolean {
  return state === "bound" || state === "rundown";
}
