// dm's block-device open and release (dm_blk_open, dm_blk_close): a device
// being deleted refuses opens; the last close of a device marked for
// deferred removal queues the deferred-remove work (kernel:dm-deferred).
// docs/linux-model.md §5.6, §7.2.

import type { StepContext } from "../../sim/op";
import { fail, must, type Kernel } from "../kernel";
import { DM, DM_WORK, type Gendisk } from "../objects";

export function dmDriverOpen(ctx: StepContext, _k: Kernel, _d: string, disk: Gendisk): void {
  const md = must(DM.get(ctx.store, disk.driverKey), `mapped device ${disk.driverKey}`);
  if (md.deleting) fail("ENXIO", `${disk.name} is being removed`);
  DM.update(ctx.store, disk.driverKey, md, { openCount: md.openCount + 1 });
}

export function dmDriverRelease(ctx: StepContext, _k: Kernel, d: string, _key: string, disk: Gendisk): void {
  const md = DM.get(ctx.store, disk.driverKey);
  if (!md) return;
  const openCount = md.openCount - 1;
  DM.update(ctx.store, disk.driverKey, md, { openCount });
  if (openCount === 0 && md.deferredRemove) {
    const wk = DM_WORK.key(d);
    const w = DM_WORK.get(ctx.store, wk) ?? { queued: false, teardown: false };
    if (!w.queued) DM_WORK.update(ctx.store, wk, w, { queued: true });
  }
}
