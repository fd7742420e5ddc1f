// Opening and releasing a whole block device (block/bdev.c): the checks every
// opener goes through, whether an fd, a dm table or blkback, the exclusive
// claim, and the driver's open and release (loop's lo_open/lo_release, dm's
// dm_blk_open/dm_blk_close), reached through the kernel's table of block
// drivers (linux/drivers.ts). docs/linux-model.md §4.2-4.3.

import type { StepContext } from "../sim/op";
import { PAGE_SIZE, readDisk, SECTOR } from "./block";
import { fail, type Kernel } from "./kernel";
import { DISK, type Gendisk } from "./objects";
import { flushBuffers } from "./pagecache";

export interface BlkdevOpenOptions {
  write: boolean;
  /** The exclusive holder (an fd's key, "dm:<d>" (all of dm shares one holder), blkback), or none for a shared open. */
  holder?: string;
}

/**
 * blkdev_get_by_dev / blkdev_open on a disk object: ENXIO when the disk is
 * gone (del_gendisk), EBUSY when another holder has it exclusively, then
 * the driver's open, then the opener is counted.
 */
export function blkdevOpen(ctx: StepContext, k: Kernel, d: string, key: string, opts: BlkdevOpenOptions): void {
  const disk = readDisk(ctx.store, key);
  if (!disk.live) fail("ENXIO", `${disk.name} has been deleted`);
  if (opts.holder !== undefined && disk.claim !== null && disk.claim.holder !== opts.holder) {
    fail("EBUSY", `${disk.name} is held exclusively by ${disk.claim.holder}`);
  }
  k.blockDrivers[disk.driver].open(ctx, k, d, disk);
  const claim = opts.holder === undefined ? disk.claim : { holder: opts.holder, count: (disk.claim?.count ?? 0) + 1 };
  const now = readDisk(ctx.store, key);
  // blkdev_get_whole: the first opener sets the inode's block size.
  const bdevBlockSize = disk.openers === 0 ? initBlocksize(now.logicalBlockSize, now.sectors * SECTOR) : now.bdevBlockSize;
  DISK.update(ctx.store, key, now, { openers: disk.openers + 1, claim, bdevBlockSize });
}

/** set_init_blocksize: from the logical block size, doubled up to a page while it divides the size. */
export function initBlocksize(logical: number, bytes: number): number {
  let bsize = logical;
  while (bsize < PAGE_SIZE && (bytes & bsize) === 0) bsize <<= 1;
  return bsize;
}

/**
 * blkdev_put: the opener goes, its claim with it; the last one writes the
 * page cache back and drops it (sync_blockdev, then blkdev_flush_mapping's
 * kill_bdev; writeback errors are not reported: close returns 0); then the
 * driver's release (which may detach or delete).
 */
export function blkdevClose(ctx: StepContext, k: Kernel, d: string, key: string, holder?: string): void {
  const disk: Gendisk = readDisk(ctx.store, key);
  let claim = disk.claim;
  if (holder !== undefined && claim !== null && claim.holder === holder) claim = claim.count > 1 ? { holder, count: claim.count - 1 } : null;
  if (disk.openers === 1) flushBuffers(ctx, k, key);
  const after = DISK.update(ctx.store, key, readDisk(ctx.store, key), { openers: disk.openers - 1, claim });
  k.blockDrivers[after.driver].release(ctx, k, d, key, after);
  // A disk that was deleted while open goes with its last opener (put_disk).
  const now = DISK.get(ctx.store, key);
  if (now !== undefined && !now.live && now.openers === 0) DISK.delete(ctx.store, key);
}
