// The ioctls the block layer answers itself on any disk fd, before the
// driver sees anything (block/ioctl.c: blkdev_ioctl's own switch, then
// blkdev_common_ioctl; the same rows and checks in 6.1 and 6.12). One row
// per request: its number and its handler. A request not here goes to the
// driver (lo_ioctl, or dm_blk_ioctl passing it down: ioctl.ts).
// docs/linux-model.md §4.5.

import type { StepContext } from "../sim/op";
import { readDisk, SECTOR } from "./block";
import { isRoot } from "./creds";
import { blkDiscard } from "./discard";
import { fail, type Kernel } from "./kernel";
import { DISK, type DiskFd } from "./objects";
import { observePair } from "./pairs";
import { flushBuffers } from "./pagecache";

/** include/uapi/linux/fs.h: _IO(0x12, nr), and _IOR(0x12, nr, size_t/__u64) for the 8-byte answers. */
export const BLK_IOCTLS = {
  BLKROSET: 0x125d,
  BLKROGET: 0x125e,
  BLKGETSIZE: 0x1260,
  BLKFLSBUF: 0x1261,
  BLKSSZGET: 0x1268,
  BLKBSZGET: 0x80081270,
  BLKGETSIZE64: 0x80081272,
  BLKDISCARD: 0x1277,
  BLKPBSZGET: 0x127b,
  BLKGETDISKSEQ: 0x80081280,
} as const;

type BlkHandler = (ctx: StepContext, k: Kernel, f: DiskFd, arg: unknown) => unknown;

const BLK_TABLE: Record<keyof typeof BLK_IOCTLS, BlkHandler> = {
  /** blkdev_roset: CAP_SYS_ADMIN (EACCES), then the int; loop and dm have no set_read_only, so bd_read_only takes it. */
  BLKROSET: (ctx, _k, f, arg) => {
    if (!isRoot(ctx)) fail("EACCES", "BLKROSET needs CAP_SYS_ADMIN");
    // get_user of an int: a value that is not one stands in for a bad pointer (EFAULT in C).
    if (typeof arg !== "number" || !Number.isInteger(arg)) fail("EINVAL", `BLKROSET takes an int, got ${JSON.stringify(arg)}`);
    DISK.update(ctx.store, f.disk, readDisk(ctx.store, f.disk), { bdevReadOnly: arg !== 0 });
    return 0;
  },
  /** bdev_read_only: bd_read_only or the disk's own read-only (a read-only loop binding, a read-only dm table). */
  BLKROGET: (ctx, _k, f) => {
    const disk = readDisk(ctx.store, f.disk);
    return disk.bdevReadOnly || disk.readOnly ? 1 : 0;
  },
  /** The size in 512-byte sectors (EFBIG only where it does not fit an unsigned long: never on 64 bits). */
  BLKGETSIZE: (ctx, _k, f) => readDisk(ctx.store, f.disk).sectors,
  /** blkdev_flushbuf: CAP_SYS_ADMIN (EACCES); then the dirty pages are written back and the cache dropped; 0 whatever the writeback did. */
  BLKFLSBUF: (ctx, k, f) => {
    if (!isRoot(ctx)) fail("EACCES", "BLKFLSBUF needs CAP_SYS_ADMIN");
    flushBuffers(ctx, k, f.disk);
    return 0;
  },
  BLKSSZGET: (ctx, _k, f) => readDisk(ctx.store, f.disk).logicalBlockSize,
  /** block_size(bdev): the inode's block size, set at the first open. */
  BLKBSZGET: (ctx, _k, f) => readDisk(ctx.store, f.disk).bdevBlockSize,
  BLKGETSIZE64: (ctx, _k, f) => readDisk(ctx.store, f.disk).sectors * SECTOR,
  BLKDISCARD: (ctx, k, f, arg) => blkDiscard(ctx, k, f, arg),
  BLKPBSZGET: (ctx, _k, f) => readDisk(ctx.store, f.disk).physicalBlockSize,
  /** The disk's current diskseq, in every state of a loop device (G612:L173, G:L35); a reading the no-stale-open invariant records. */
  BLKGETDISKSEQ: (ctx, _k, f) => {
    observePair(ctx, ctx.who.domain, f.disk, ctx.who.name);
    return readDisk(ctx.store, f.disk).diskseq;
  },
};

export function isBlkIoctl(name: string): name is keyof typeof BLK_IOCTLS {
  return Object.hasOwn(BLK_IOCTLS, name);
}

/** blkdev_ioctl for one of the block layer's own requests on a disk fd. */
export function blkdevIoctl(ctx: StepContext, k: Kernel, f: DiskFd, name: keyof typeof BLK_IOCTLS, arg: unknown): unknown {
  return BLK_TABLE[name](ctx, k, f, arg);
}
