// BLKDISCARD (block/ioctl.c blk_ioctl_discard): whether a disk takes
// discards at all, the checks in each kernel's order, the page cache range
// dropped, and the discard bios: a loop device over an image punches a hole
// (loop_config_discard: the model's files stand for tmpfs, whose fallocate
// punches holes), so the range reads back as zeros; dm passes them down;
// zero drops them and error fails them (EIO) where the kernel has
// 00065f925efb (`dmZeroErrorDiscard`), and without it a table with either
// target has no discard at all. docs/linux-model.md §4.5.

import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { readDisk, SECTOR } from "./block";
import { discardThrough } from "./io";
import { fail, type Kernel } from "./kernel";
import { isBoundLike } from "./loop/device";
import { DISK, DM, LOOP, type DiskFd } from "./objects";
import { truncateRange } from "./pagecache";

const MAX_DEPTH = 16;

/**
 * bdev_max_discard_sectors != 0. loop: bound over a file (whose filesystem
 * has fallocate), or over a disk that takes write-zeroes (loop mirrors its
 * backing device's zeroing, loop_config_discard). dm: every target of the
 * live table (dm_table_supports_discards): linear and striped when their
 * disks do, zero and error per `dmZeroErrorDiscard`. A loop device that is
 * not bound is taken as without discard [U: a detached one keeps the limits
 * of its last binding in Linux].
 */
export function discardSupported(store: Store, k: Kernel, key: string, depth = 0): boolean {
  return supports(store, k, key, depth, "discard");
}

function supports(store: Store, k: Kernel, key: string, depth: number, op: "discard" | "write-zeroes"): boolean {
  const disk = DISK.get(store, key);
  if (!disk || depth > MAX_DEPTH) return false;
  if (disk.driver === "loop") {
    // loop sets max_write_zeroes_sectors to its max_discard_sectors: the same answer for both.
    const lo = LOOP.get(store, disk.driverKey);
    const backing = lo?.backing?.file;
    if (!lo || !isBoundLike(lo.state) || backing === undefined) return false;
    return DISK.is(backing) ? supports(store, k, backing, depth + 1, "write-zeroes") : true;
  }
  const table = DM.get(store, disk.driverKey)?.live;
  if (!table) return false;
  return table.targets.every((t) => {
    if (t.type === "zero" || t.type === "error") return op === "discard" && k.cfg.dmZeroErrorDiscard;
    return t.legs.every((l) => supports(store, k, l.disk, depth + 1, op));
  });
}

/** The `uint64_t range[2]` argument: [start, length] in bytes (a value that is not one stands in for a bad pointer: EINVAL). */
function decodeRange(arg: unknown): [number, number] {
  const ok = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(arg) || arg.length !== 2 || !ok(arg[0]) || !ok(arg[1])) fail("EINVAL", `BLKDISCARD takes [start, length] in bytes, got ${JSON.stringify(arg)}`);
  return [arg[0] as number, arg[1] as number];
}

export function blkDiscard(ctx: StepContext, k: Kernel, f: DiskFd, arg: unknown): 0 {
  const key = f.disk;
  const disk = readDisk(ctx.store, key);
  const size = disk.sectors * SECTOR;
  const readOnly = disk.readOnly || disk.bdevReadOnly;
  const lbs = disk.logicalBlockSize;
  let start: number;
  let len: number;
  if (k.cfg.discardChecksFirst) {
    // 6.12: the range first, then support, the mode, read-only, and the range against the logical block size.
    [start, len] = decodeRange(arg);
    if (!discardSupported(ctx.store, k, key)) fail("EOPNOTSUPP", `${disk.name} does not take discards`);
    if (!f.write) fail("EBADF", "BLKDISCARD needs a file opened for writing");
    if (readOnly) fail("EPERM", `${disk.name} is read-only`);
    if (start % lbs !== 0 || len % lbs !== 0) fail("EINVAL", `start and length must be multiples of the logical block size ${lbs}`);
    if (len === 0) fail("EINVAL", "an empty range");
    if (start + len > size) fail("EINVAL", `the range ends past ${disk.name}'s ${size} bytes`);
    truncateRange(ctx, key, start, start + len - 1, othersClaim(f, disk.claim));
  } else {
    // 6.1: the mode, support, the range in 512-byte units; the cache range goes; then __blkdev_issue_discard's checks.
    if (!f.write) fail("EBADF", "BLKDISCARD needs a file opened for writing");
    if (!discardSupported(ctx.store, k, key)) fail("EOPNOTSUPP", `${disk.name} does not take discards`);
    [start, len] = decodeRange(arg);
    if (start % SECTOR !== 0) fail("EINVAL", "start must be a multiple of 512");
    if (len % SECTOR !== 0) fail("EINVAL", "length must be a multiple of 512");
    if (start + len > size) fail("EINVAL", `the range ends past ${disk.name}'s ${size} bytes`);
    truncateRange(ctx, key, start, start + len - 1, othersClaim(f, disk.claim));
    if (readOnly) fail("EPERM", `${disk.name} is read-only`);
    if (start % lbs !== 0 || len % lbs !== 0) fail("EINVAL", `start and length must be multiples of the logical block size ${lbs}`);
    if (len === 0) fail("EINVAL", "an empty range");
  }
  discardThrough(ctx, k, key, start, len);
  return 0;
}

/** truncate_bdev_range claims the disk for itself unless the fd is exclusive: another holder's claim makes it only invalidate. */
function othersClaim(f: DiskFd, claim: { holder: string } | null): boolean {
  return !f.excl && claim !== null;
}
