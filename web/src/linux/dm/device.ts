// A mapped device's life (drivers/md/dm.c): alloc_dev takes a minor (the
// lowest free one, or the one asked for) and allocates the gendisk, which
// uses up a diskseq even when the create then fails; dm_lock_for_deletion
// decides whether a device may go; dm_destroy takes its tables down,
// deletes the gendisk if it was ever registered, and frees the minor.
// docs/linux-model.md §3.3, §5.4.

import type { StepContext } from "../../sim/op";
import type { Store } from "../../sim/store";
import { allocDisk, delDisk } from "../block";
import { fail, must, type Kernel } from "../kernel";
import { DM, type MappedDevice } from "../objects";
import { releaseTables } from "./table";

/** MINORBITS */
export const DM_MAX_MINOR = (1 << 20) - 1;

export function readMd(store: Store, key: string): MappedDevice {
  return must(DM.get(store, key), `mapped device ${key}`);
}

/** The minors in use (the idr): every `dm:<d>:*` key, ascending. */
function usedMinors(ctx: StepContext, d: string): number[] {
  return DM.list(ctx.store, d).map((k) => Number(DM.tail(k, d))).sort((a, b) => a - b);
}

/**
 * alloc_dev's minor: next_free_minor (idr_alloc from 0, the lowest free) or
 * specific_minor (EBUSY when taken). alloc_dev turns every failure into
 * NULL and dm_create into ENXIO, so a taken persistent minor reads ENXIO
 * (verified in dm.c: `if (!md) return -ENXIO;`). Nothing is allocated yet,
 * so no diskseq is used.
 */
function takeMinor(ctx: StepContext, d: string, persistent: number | undefined): number {
  if (persistent !== undefined) {
    if (persistent > DM_MAX_MINOR) fail("ENXIO", `minor ${persistent} does not fit MINORBITS (specific_minor: EINVAL, which dm_create reports as ENXIO)`);
    if (DM.has(ctx.store, DM.key(d, persistent))) fail("ENXIO", `minor ${persistent} is taken (specific_minor: EBUSY, which dm_create reports as ENXIO)`);
    return persistent;
  }
  let m = 0;
  for (const u of usedMinors(ctx, d)) {
    if (u !== m) break;
    m++;
  }
  if (m > DM_MAX_MINOR) fail("ENXIO", "no free dm minor");
  return m;
}

/** dm_create → alloc_dev: a new, unhashed device with no tables, not suspended, its gendisk allocated (the next diskseq) but not added. */
export function allocDev(ctx: StepContext, k: Kernel, d: string, persistentMinor: number | undefined, opts: { disableUevents?: boolean } = {}): { key: string; md: MappedDevice } {
  const minor = takeMinor(ctx, d, persistentMinor);
  const key = DM.key(d, minor);
  const disk = allocDisk(ctx, d, { name: `dm-${minor}`, major: k.cfg.dmMajor, minor, driver: "dm", driverKey: key });
  const md: MappedDevice = {
    minor, disk, name: null, uuid: null, live: null, inactive: null, typeSet: false, suspended: false, openCount: 0,
    eventNr: 0, deferredRemove: false, deleting: false, teardown: false, disableUevents: opts.disableUevents ?? false, geometry: null,
  };
  DM.set(ctx.store, key, md);
  ctx.emit({ kind: "dm-alloc", domain: d, minor });
  return { key, md };
}

/**
 * dm_destroy (__dm_destroy, free_dev): the live and inactive tables go
 * (their devices are closed and the holder links removed), the gendisk is
 * deleted (del_gendisk only if add_disk ever ran: `md->type != DM_TYPE_NONE`),
 * and the minor is free in the same step.
 */
export function destroyDev(ctx: StepContext, k: Kernel, d: string, key: string): void {
  let md = readMd(ctx.store, key);
  md = DM.update(ctx.store, key, md, { deleting: true });
  releaseTables(ctx, k, d, md, [md.live, md.inactive], []);
  delDisk(ctx, d, md.disk, { uevent: !md.disableUevents });
  DM.delete(ctx.store, key);
  ctx.emit({ kind: "dm-free", domain: d, minor: md.minor });
}

export type Deletion = "ok" | "EBUSY" | "EEXIST";

/**
 * dm_lock_for_deletion: an open device is busy (and, with mark_deferred,
 * marked for deferred removal); with only_deferred an unmarked device is
 * left alone; otherwise the device is DMF_DELETING from now on.
 */
export function lockForDeletion(ctx: StepContext, key: string, md: MappedDevice, markDeferred: boolean, onlyDeferred: boolean): Deletion {
  if (md.openCount > 0) {
    if (markDeferred && !md.deferredRemove) DM.update(ctx.store, key, md, { deferredRemove: true });
    return "EBUSY";
  }
  if (onlyDeferred && !md.deferredRemove) return "EEXIST";
  DM.update(ctx.store, key, md, { deleting: true });
  return "ok";
}
