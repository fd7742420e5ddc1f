// dm's block-device open and release (dm_blk_open, dm_blk_close): a device
// being deleted refuses opens; the last close of a device marked for
// deferred removal queues the deferred-remove work (kernel:dm-deferred).
// docs/linux-model.md §5.6, §7.2.

import type { StepContext } from "../../sim/op";
import { fail, must, type Kernel } from "../kernel";
import { keys, type DmDeferredWork, type Gendisk, type MappedDevice } from "../objects";

export function dmDriverOpen(ctx: StepContext, _k: Kernel, _d: string, disk: Gendisk): void {
  const md = must(ctx.store.get<MappedDevice>(disk.driverKey), `mapped device ${disk.driverKey}`);
  if (md.deleting) fail("ENXIO", `${disk.name} is being removed`);
  ctx.store.set(disk.driverKey, { ...md, openCount: md.openCount + 1 } satisfies MappedDevice);
}

export function dmDriverRelease(ctx: StepContext, _k: Kernel, d: string, _key: string, disk: Gendisk): void {
  const md = ctx.store.get<MappedDevice>(disk.driverKey);
  if (!md) return;
  const openCount = md.openCount - 1;
  ctx.store.set(disk.driverKey, { ...md, openCount } satisfies MappedDevice);
  if (openCount === 0 && md.deferredRemove) {
    const wk = keys.dmWork(d);
    const w = ctx.store.get<DmDeferredWork>(wk) ?? { queued: false, teardown: false };
    if (!w.queued) ctx.store.set(wk, { ...w, queued: true } satisfies DmDeferredWork);
  }
}
