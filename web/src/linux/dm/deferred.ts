// dm's deferred removal (do_deferred_remove → dm_hash_remove_all(true,
// false, true)) as the kernel actor `kernel:dm-deferred`, in two steps,
// because the golden trace caught the moment between them (G61:L129-133):
// right after the last close DEV_STATUS already said ENXIO while
// /sys/block/dm-0 and /dev/dm-0 still existed. docs/linux-model.md §7.2.
//
// 1. unhash: every marked device that nobody has open, in name order, is
//    DMF_DELETING and leaves the hash: its name and uuid are free now.
//    A device opened again meanwhile is skipped and stays marked.
// 2. destroy: the unhashed devices lose their tables (lower devices
//    closed), their gendisk (sysfs, node, a `remove` uevent) and their minor.
//
// Between the two, the name can be created again (on another minor), and
// /dev/dm-N still names the dying device, whose open gives ENXIO.

import type { Op, StepContext } from "../../sim/op";
import type { Kernel } from "../kernel";
import { DM, DM_WORK, type DmDeferredWork } from "../objects";
import { destroyDev, lockForDeletion } from "./device";
import { cellByName, hashedNames, hashRemove } from "./hash";

function work(ctx: StepContext, d: string): DmDeferredWork {
  return DM_WORK.get(ctx.store, DM_WORK.key(d)) ?? { queued: false, teardown: false };
}

function setWork(ctx: StepContext, d: string, w: DmDeferredWork): void {
  if (!w.queued && !w.teardown) DM_WORK.delete(ctx.store, DM_WORK.key(d));
  else DM_WORK.set(ctx.store, DM_WORK.key(d), w);
}

function unhash(ctx: StepContext, d: string): void {
  let any = false;
  for (const name of hashedNames(ctx.store, d)) {
    const cell = cellByName(ctx.store, d, name)!;
    if (lockForDeletion(ctx, cell.key, cell.md, false, true) !== "ok") continue;
    const md = hashRemove(ctx, d, cell.key);
    DM.update(ctx.store, cell.key, md, { teardown: true });
    any = true;
  }
  const w = work(ctx, d);
  setWork(ctx, d, { queued: false, teardown: w.teardown || any });
}

function destroy(ctx: StepContext, k: Kernel, d: string): void {
  for (const key of DM.list(ctx.store, d)) {
    if (DM.get(ctx.store, key)?.teardown) destroyDev(ctx, k, d, key);
  }
  setWork(ctx, d, { ...work(ctx, d), teardown: false });
}

/** One step of the worker: the unhash when work is queued, otherwise the teardown. */
export function dmDeferredStep(k: Kernel, d: string): Op<void> {
  return {
    call: "dm-deferred",
    args: [],
    waitingFor: "a deferred removal",
    ready: (store) => {
      const w = DM_WORK.get(store, DM_WORK.key(d));
      return w !== undefined && (w.queued || w.teardown);
    },
    run: (ctx) => {
      if (work(ctx, d).queued) unhash(ctx, d);
      else destroy(ctx, k, d);
    },
  };
}
