// The block layer's gendisk lifecycle, shared by loop and device-mapper
// (block/genhd.c, block/disk-events.c): the global diskseq counter, alloc,
// add and delete of a disk, media change, capacity change, and the uevents
// each of them queues for udev. docs/linux-model.md §4.6.

import type { StepContext } from "../sim/op";
import type { Store } from "../sim/store";
import { must, type Kernel } from "./kernel";
import { DEV_NODE, DEVT, DISK, DISKSEQ, UEVENTS, type DiskDriver, type Gendisk, type UEventAction } from "./objects";

export const SECTOR = 512;

/** The page size of the model's page cache and of set_init_blocksize (x86-64's 4 KiB). */
export const PAGE_SIZE = 4096;

export function readDisk(store: Store, key: string): Gendisk {
  return must(DISK.get(store, key), `disk ${key}`);
}

/** inc_diskseq: the next value of the domain's counter (the first is 1, none is ever reused). */
export function takeDiskseq(store: Store, d: string): number {
  const key = DISKSEQ.key(d);
  const next = (DISKSEQ.get(store, key)?.last ?? 0) + 1;
  DISKSEQ.set(store, key, { last: next });
  return next;
}

/** The registered disk a device number names now, or undefined. */
export function diskByDevt(store: Store, d: string, major: number, minor: number): string | undefined {
  return DEVT.get(store, DEVT.key(d, major, minor))?.disk;
}

/**
 * __alloc_disk_node: a new disk with the next diskseq, which is also its
 * key. Not registered, capacity 0.
 */
export function allocDisk(ctx: StepContext, d: string, spec: { name: string; major: number; minor: number; driver: DiskDriver; driverKey: string }): string {
  const seq = takeDiskseq(ctx.store, d);
  const key = DISK.key(d, seq);
  const disk: Gendisk = {
    name: spec.name, major: spec.major, minor: spec.minor, diskseq: seq, driver: spec.driver, driverKey: spec.driverKey,
    registered: false, live: true, sectors: 0, readOnly: false, openers: 0, claim: null, holders: [],
    // blk_set_default_limits: 512-byte blocks. The bdev inode starts with its
    // pseudo superblock's PAGE_SIZE block size, which the first open replaces.
    logicalBlockSize: SECTOR, physicalBlockSize: SECTOR, bdevBlockSize: PAGE_SIZE, bdevReadOnly: false,
  };
  DISK.set(ctx.store, key, disk);
  ctx.emit({ kind: "disk-alloc", domain: d, name: spec.name, diskseq: seq });
  return key;
}

/** Queues a uevent for udev on the device's own queue. */
export function queueUevent(ctx: StepContext, d: string, disk: Gendisk, action: UEventAction, env: Record<string, string> = {}): void {
  const qk = UEVENTS.key(d, disk.name);
  const q = UEVENTS.get(ctx.store, qk);
  const ev = { action, name: disk.name, major: disk.major, minor: disk.minor, diskseq: disk.diskseq, env };
  UEVENTS.set(ctx.store, qk, { events: [...(q?.events ?? []), ev] });
  ctx.emit({ kind: "uevent", domain: d, ...ev });
}

/** add_disk: the device number, /dev/<name> and /sys/block/<name> appear; uevent `add`. */
export function addDisk(ctx: StepContext, d: string, key: string, opts: { uevent?: boolean } = {}): void {
  const disk = DISK.update(ctx.store, key, readDisk(ctx.store, key), { registered: true });
  DEVT.set(ctx.store, DEVT.key(d, disk.major, disk.minor), { disk: key });
  DEV_NODE.set(ctx.store, DEV_NODE.key(d, `/dev/${disk.name}`), { type: "block", major: disk.major, minor: disk.minor });
  if (opts.uevent ?? true) queueUevent(ctx, d, disk, "add");
}

/**
 * del_gendisk, then put_disk: the number, the node and the sysfs directory
 * go at once (devtmpfs is synchronous: G:L60-62), a `remove` uevent is
 * queued, and the object is deleted when nobody has it open. Loop and dm
 * only delete disks nobody has open, so in this model it goes in the same step.
 */
export function delDisk(ctx: StepContext, d: string, key: string, opts: { uevent?: boolean } = {}): void {
  const disk = readDisk(ctx.store, key);
  if (disk.registered) {
    DEVT.delete(ctx.store, DEVT.key(d, disk.major, disk.minor));
    DEV_NODE.delete(ctx.store, DEV_NODE.key(d, `/dev/${disk.name}`));
    if (opts.uevent ?? true) queueUevent(ctx, d, disk, "remove");
  }
  if (disk.openers === 0) DISK.delete(ctx.store, key);
  else DISK.update(ctx.store, key, disk, { registered: false, live: false });
  ctx.emit({ kind: "disk-del", domain: d, name: disk.name, diskseq: disk.diskseq });
}

/**
 * disk_force_media_change: a `change` uevent with DISK_MEDIA_CHANGE=1, and
 * on kernels with b90ecc0379eb the next global diskseq (not the old value
 * plus one: G:L110 takes loop1 from 2 to 19).
 */
export function mediaChange(ctx: StepContext, k: Kernel, d: string, key: string): Gendisk {
  let disk = readDisk(ctx.store, key);
  if (k.cfg.mediaChangeBumpsDiskseq) disk = bumpDiskseq(ctx, d, key, disk);
  queueUevent(ctx, d, disk, "change", { DISK_MEDIA_CHANGE: "1" });
  return disk;
}

/** inc_diskseq on an existing disk. */
export function bumpDiskseq(ctx: StepContext, d: string, key: string, disk: Gendisk): Gendisk {
  const to = takeDiskseq(ctx.store, d);
  ctx.emit({ kind: "diskseq", domain: d, name: disk.name, from: disk.diskseq, to });
  return DISK.update(ctx.store, key, disk, { diskseq: to });
}

/** set_capacity_and_notify: a `change` uevent with RESIZE=1 only between two different nonzero sizes. */
export function setCapacity(ctx: StepContext, d: string, key: string, sectors: number): Gendisk {
  const disk = readDisk(ctx.store, key);
  if (disk.sectors === sectors) return disk;
  const next = DISK.update(ctx.store, key, disk, { sectors });
  if (disk.sectors !== 0 && sectors !== 0 && disk.registered) queueUevent(ctx, d, next, "change", { RESIZE: "1" });
  return next;
}

/** The whole-disk device number as dm and the uapi encode it (huge_encode_dev). */
export function hugeEncodeDev(major: number, minor: number): number {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}
